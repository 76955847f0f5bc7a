/** Every screen's key bindings: what `?` shows and what the README lists. */
import type { Binding, Route } from "./context";

export const GLOBAL_BINDINGS: readonly Binding[] = [
  { keys: "?", does: "this help (any key closes it)" },
  { keys: "q / Esc", does: "back (quit on the first screen)" },
  { keys: "Ctrl-C", does: "quit from anywhere" },
];

const MOVE: Binding = { keys: "↑↓ j k PgUp PgDn g G", does: "move" };

export const BINDINGS: Record<Route["kind"], readonly Binding[]> = {
  projects: [MOVE, { keys: "Enter", does: "open the project" }, { keys: "r", does: "reload" }],
  environments: [
    MOVE,
    { keys: "Enter", does: "open the environment's secrets" },
    { keys: "h", does: "history of the environment" },
    { keys: "c", does: "compare with another environment" },
    { keys: "K", does: "DOTENV_KEY and service tokens" },
    { keys: "a", does: "the project's audit events" },
    { keys: "R", does: "change requests (of protected environments)" },
    { keys: "r", does: "reload" },
  ],
  secrets: [
    MOVE,
    { keys: "Enter / Space", does: "reveal or hide the value (asks first)" },
    { keys: "V", does: "reveal all values (asks first); again hides them" },
    { keys: "/", does: "filter by name (Enter keeps it, Esc clears it)" },
    { keys: "s", does: "sort: name A-Z, Z-A, recently changed" },
    { keys: "a", does: "add a key" },
    { keys: "e", does: "edit the value (one line)" },
    { keys: "m", does: "edit the value over several lines" },
    { keys: "n", does: "rename the key" },
    { keys: "d", does: "delete the key (again: keep it)" },
    { keys: "u", does: "undo the pending change on this key" },
    { keys: "w", does: "review pending changes, save them as one version" },
    { keys: "h", does: "history" },
    { keys: "r", does: "reload (keeps pending changes)" },
  ],
  history: [
    MOVE,
    { keys: "Enter", does: "diff the version against the current one" },
    { keys: "v", does: "show the diff's values (asks first); again hides them" },
    { keys: "b", does: "roll back to the version (asks first)" },
    { keys: "r", does: "reload" },
  ],
  compare: [
    { keys: "← →", does: "choose the other environment" },
    { keys: "↑↓", does: "scroll" },
    { keys: "r", does: "reload" },
  ],
  keys: [
    MOVE,
    { keys: "v", does: "show the DOTENV_KEY (asks first); again hides it" },
    { keys: "c", does: "copy the DOTENV_KEY to the clipboard (OSC 52)" },
    { keys: "o", does: "rotate the DOTENV_KEY (asks first)" },
    { keys: "x", does: "revoke the selected service token (asks first)" },
    { keys: "r", does: "reload" },
  ],
  audit: [MOVE, { keys: "/", does: "filter by action, actor or detail" }, { keys: "r", does: "reload" }],
  requests: [
    MOVE,
    { keys: "a", does: "approve the change request (asks first; not your own)" },
    { keys: "x", does: "reject it (asks first)" },
    { keys: "w", does: "withdraw your own (asks first)" },
    { keys: "b", does: "rebase a stale one on the latest version (asks first)" },
    { keys: "v", does: "show its values (approvers; asks first); again hides them" },
    { keys: "A", does: "every change request, or only the open ones" },
    { keys: "r", does: "reload" },
  ],
};
