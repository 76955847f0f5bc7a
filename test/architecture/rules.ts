/** The rules src/ keeps (STYLE.md's layout), as data for ./checker.ts. */
import type { Rules } from "./checker";

export const RULES: Rules = {
  forbidden: {
    db: [
      "vault",
      "appdb",
      "server",
      "client",
      "tui",
      "supervisor",
      "commands",
      "dotenv",
      "backup",
      "root:cli",
    ],
    vault: ["appdb", "server", "client", "tui", "supervisor", "commands", "dotenv", "backup", "root:cli"],
    appdb: ["vault", "server", "client", "tui", "supervisor", "commands", "backup", "root:cli"],
    dotenv: ["vault", "appdb", "server", "client", "tui", "supervisor", "commands", "backup", "root:cli"],
    backup: ["server", "client", "tui", "supervisor", "commands", "dotenv", "root:cli"],
    server: ["client", "tui", "supervisor", "commands", "root:cli"],
    client: ["appdb", "vault", "tui", "supervisor", "db", "root:cli"],
    tui: ["server", "appdb", "vault", "supervisor", "db", "root:cli"],
    supervisor: ["client", "tui", "commands", "root:cli"],
    commands: ["root:cli"],
  },
  typesOnly: { client: ["server"] },
  entryDirs: ["commands"],
  rootEntries: { main: "static", cli: "lazy" },
  noSql: ["commands", "backup", "server", "client", "tui", "supervisor"],
  sharedRootFiles: [
    "cli-kit",
    "config",
    "exit-codes",
    "log",
    "version",
    "harden",
    "ip-range",
    "password-rules",
  ],
};
