/** Small pieces every screen draws with: key handling, a virtualized list, messages, text fields. */
import { Box, Text } from "ink";
import { type ReactNode, useState } from "react";
import { ClientError } from "../client";
import { useTui } from "./context";
import { type Key, useKeys } from "./keys";
import { MASK, oneLine } from "./model";

/**
 * A screen's keys, one at a time (see keys.tsx). In "normal" mode `?` opens
 * the help, `q` and Esc go back; in "capture" mode (a text field, a prompt)
 * every key goes to the handler. Until `ready` (the screen's data arrived,
 * or failed to), keys wait instead of acting on an empty screen, except the
 * ones that leave it or open its help.
 */
export function useScreenKeys(
  active: boolean,
  mode: "normal" | "capture",
  handler: (input: string, key: Key) => void,
  options: { ready?: boolean } = {},
): void {
  const tui = useTui();
  const ready = options.ready ?? true;
  const leaves = (input: string, key: Key) => input === "?" || input === "q" || key.escape;
  useKeys(
    active,
    (input, key) => {
      if (mode === "normal") {
        if (input === "?") return tui.help();
        if (input === "q" || key.escape) return tui.back();
      }
      handler(input, key);
    },
    { hold: (input, key) => !ready && !leaves(input, key) },
  );
}

/** Up/down/page/home/end over `count` rows; the new cursor. */
export function moveCursor(cursor: number, count: number, input: string, key: Key, page: number): number {
  if (count === 0) return 0;
  let next = cursor;
  if (key.upArrow || input === "k") next = cursor - 1;
  else if (key.downArrow || input === "j") next = cursor + 1;
  else if (key.pageUp) next = cursor - page;
  else if (key.pageDown) next = cursor + page;
  else if (key.home || input === "g") next = 0;
  else if (key.end || input === "G") next = count - 1;
  return Math.max(0, Math.min(count - 1, next));
}

/** The first row to draw so that the cursor stays in view. */
export function windowStart(cursor: number, count: number, height: number, previous: number): number {
  let top = previous;
  if (cursor < top) top = cursor;
  if (cursor >= top + height) top = cursor - height + 1;
  return Math.max(0, Math.min(top, Math.max(0, count - height)));
}

/** Draws only rows [top, top + height): ten thousand rows cost what twenty do. */
export function VirtualList<T>(props: {
  items: readonly T[];
  cursor: number;
  top: number;
  height: number;
  row: (item: T, index: number, selected: boolean) => ReactNode;
  empty?: string;
}): ReactNode {
  const { items, cursor, top, height } = props;
  if (items.length === 0) return <Text dimColor>{props.empty ?? "(nothing here)"}</Text>;
  const visible = items.slice(top, top + height);
  return (
    <Box flexDirection="column">
      {visible.map((item, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: a row's place in the list is its identity here.
        <Box key={top + i} height={1} overflow="hidden">
          {props.row(item, top + i, top + i === cursor)}
        </Box>
      ))}
    </Box>
  );
}

export function describeError(error: unknown): { message: string; hint?: string } {
  if (error instanceof ClientError) return { message: error.message, hint: error.hint };
  return { message: error instanceof Error ? error.message : String(error) };
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: boolean }): ReactNode {
  const { message, hint } = describeError(error);
  return (
    <Box flexDirection="column">
      <Text color="red">error: {message}</Text>
      {hint ? <Text color="yellow">hint: {hint}</Text> : null}
      {retry ? <Text dimColor>press r to retry</Text> : null}
    </Box>
  );
}

export function Loading({ what }: { what: string }): ReactNode {
  return <Text dimColor>loading {what}…</Text>;
}

/** A yes/no question on one line; y confirms, anything else cancels. */
export function ConfirmLine({ question }: { question: string }): ReactNode {
  return (
    <Text>
      <Text color="yellow" bold>
        {question}
      </Text>{" "}
      <Text dimColor>[y/N]</Text>
    </Text>
  );
}

/** What a masked field draws, whatever it holds: its length never shows, not even whether it is empty. */
function Masked({ focus }: { focus: boolean }): ReactNode {
  return (
    <Text>
      {MASK}
      {focus ? <Text inverse> </Text> : null}
      <Text dimColor> (hidden · Ctrl-U clears)</Text>
    </Text>
  );
}

/**
 * A one-line text field. Typed or pasted text arrives whole and is inserted
 * whole; Enter submits, Backspace deletes, ← → Home End move (not in a
 * masked field, where the cursor stays at the end), Ctrl-U clears.
 * A masked field draws the same whatever its value (see Masked).
 */
export function TextField(props: {
  value: string;
  focus: boolean;
  masked?: boolean;
  onChange(value: string): void;
  onSubmit(value: string): void;
}): ReactNode {
  const { value, focus, masked } = props;
  const [cursor, setCursor] = useState(value.length);
  const at = masked ? value.length : Math.min(cursor, value.length);
  useKeys(
    focus,
    (input, key) => {
      if (key.return) return props.onSubmit(value);
      if (key.ctrl && input === "u") {
        setCursor(0);
        return props.onChange(masked ? "" : value.slice(at));
      }
      if (key.backspace || key.delete) {
        if (at === 0) return;
        setCursor(at - 1);
        return props.onChange(value.slice(0, at - 1) + value.slice(at));
      }
      if (!masked) {
        if (key.leftArrow) return setCursor(Math.max(0, at - 1));
        if (key.rightArrow) return setCursor(Math.min(value.length, at + 1));
        if (key.home || (key.ctrl && input === "a")) return setCursor(0);
        if (key.end || (key.ctrl && input === "e")) return setCursor(value.length);
      }
      if (key.ctrl || key.meta || key.escape || key.tab || key.upArrow || key.downArrow) return;
      if (key.leftArrow || key.rightArrow || key.pageUp || key.pageDown || key.home || key.end) return;
      // One line: a pasted trailing line break is not part of the value.
      const text = input.replace(/\r\n?|\n/g, "\n").replace(/\n+$/, "");
      if (!text) return;
      setCursor(at + text.length);
      props.onChange(value.slice(0, at) + text + value.slice(at));
    },
    { text: true },
  );
  if (masked) return <Masked focus={focus} />;
  const drawn = oneLine(value, 10_000);
  if (!focus) return <Text>{drawn}</Text>;
  return (
    <Text>
      {oneLine(value.slice(0, at), 10_000)}
      <Text inverse>{at < value.length ? oneLine(value[at]!, 1) : " "}</Text>
      {oneLine(value.slice(at + 1), 10_000)}
    </Text>
  );
}

/**
 * A multi-line text editor: Enter adds a line break, Ctrl-D finishes, Esc
 * cancels, Backspace deletes, Ctrl-U clears. Pasted text arrives whole and
 * is kept whole. Masked, it draws the same whatever it holds (no text, no
 * line count).
 */
export function MultilineEditor(props: {
  label: string;
  initial: string;
  active: boolean;
  masked?: boolean;
  onDone(value: string): void;
  onCancel(): void;
}): ReactNode {
  const [text, setText] = useState(props.initial);
  useKeys(
    props.active,
    (input, key) => {
      if (key.escape) return props.onCancel();
      if (key.ctrl && input === "d") return props.onDone(text);
      if (key.ctrl && input === "u") return setText("");
      if (key.return) return setText((t) => `${t}\n`);
      if (key.backspace || key.delete) return setText((t) => t.slice(0, -1));
      if (key.ctrl || key.meta || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) return;
      if (key.tab || key.pageUp || key.pageDown || key.home || key.end) return;
      if (input) setText((t) => t + input.replace(/\r\n?/g, "\n"));
    },
    { text: true },
  );
  const lines = text.split("\n");
  const help = "Enter: new line · Ctrl-D: done · Esc: cancel";
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="cyan" paddingX={1}>
      <Text bold>{props.label}</Text>
      {props.masked ? (
        <Masked focus={props.active} />
      ) : (
        lines.slice(-8).map((line, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: lines have no identity but their place.
          <Text key={i}>
            {oneLine(line, 10_000)}
            {i === Math.min(lines.length, 8) - 1 ? <Text inverse> </Text> : null}
          </Text>
        ))
      )}
      <Text dimColor>
        {props.masked ? help : `${lines.length} line${lines.length === 1 ? "" : "s"} · ${help}`}
      </Text>
    </Box>
  );
}

export function Title({ children }: { children: ReactNode }): ReactNode {
  return (
    <Text bold color="cyan">
      {children}
    </Text>
  );
}

export function pad(text: string, width: number): string {
  if (text.length > width) return `${text.slice(0, Math.max(0, width - 1))}…`;
  return text.padEnd(width);
}
