/** Small pieces every screen draws with: key handling, a virtualized list, messages, an editor. */
import { Box, type Key, Text, useInput } from "ink";
import { type ReactNode, useState } from "react";
import { ClientError } from "../client";
import { useTui } from "./context";

/**
 * A screen's keys. In "normal" mode `?` opens the help, `q` and Esc go back;
 * in "capture" mode (a text field, a prompt) every key goes to the handler.
 */
export function useScreenKeys(
  active: boolean,
  mode: "normal" | "capture",
  handler: (input: string, key: Key) => void,
): void {
  const tui = useTui();
  useInput(
    (input, key) => {
      if (mode === "normal") {
        if (input === "?") return tui.help();
        if (input === "q" || key.escape) return tui.back();
      }
      handler(input, key);
    },
    { isActive: active },
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

/**
 * A multi-line text editor: Enter adds a line break, Ctrl-D finishes, Esc
 * cancels, Backspace deletes. Pasted text arrives whole and is kept whole.
 */
export function MultilineEditor(props: {
  label: string;
  initial: string;
  active: boolean;
  onDone(value: string): void;
  onCancel(): void;
}): ReactNode {
  const [text, setText] = useState(props.initial);
  useInput(
    (input, key) => {
      if (key.escape) return props.onCancel();
      if (key.ctrl && input === "d") return props.onDone(text);
      if (key.return) return setText((t) => `${t}\n`);
      if (key.backspace || key.delete) return setText((t) => t.slice(0, -1));
      if (key.ctrl || key.meta || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) return;
      if (input) setText((t) => t + input.replace(/\r\n?/g, "\n"));
    },
    { isActive: props.active },
  );
  const lines = text.split("\n");
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="cyan" paddingX={1}>
      <Text bold>{props.label}</Text>
      {lines.slice(-8).map((line, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines have no identity but their place.
        <Text key={i}>
          {line}
          {i === Math.min(lines.length, 8) - 1 ? <Text inverse> </Text> : null}
        </Text>
      ))}
      <Text dimColor>
        {lines.length} line{lines.length === 1 ? "" : "s"} · Enter: new line · Ctrl-D: done · Esc: cancel
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
