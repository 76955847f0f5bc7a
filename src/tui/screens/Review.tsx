/** The review of pending changes: what a save would store, values masked unless revealed in the table. */
import { Box, Text } from "ink";
import type { ReactNode } from "react";
import { Title } from "../components";
import { type Row, shown } from "../model";

export const MARK: Record<Row["state"], string> = {
  same: " ",
  added: "+",
  changed: "~",
  removed: "-",
  renamed: "»",
};
export const MARK_COLOR: Record<Row["state"], string | undefined> = {
  same: undefined,
  added: "green",
  changed: "yellow",
  removed: "red",
  renamed: "magenta",
};

export function Review(props: {
  rows: readonly Row[];
  stored: Readonly<Record<string, string>>;
  isRevealed(name: string): boolean;
  envName: string;
  base: number | undefined;
  top: number;
  height: number;
  width: number;
  footer: ReactNode;
}): ReactNode {
  const { rows, stored, isRevealed, width } = props;
  const room = Math.max(1, props.height - 5);
  const top = Math.max(0, Math.min(props.top, rows.length - room));
  const valueWidth = Math.max(8, Math.floor((width - 30) / 2));
  const old = (name: string) => shown(stored[name], isRevealed(name), valueWidth);
  const now = (r: Row) => shown(r.value, isRevealed(r.name), valueWidth);
  return (
    <Box flexDirection="column">
      <Title>
        Review: {rows.length} change{rows.length === 1 ? "" : "s"} to {props.envName}
        {props.base !== undefined ? ` (based on v${props.base})` : ""}
      </Title>
      <Text dimColor>values stay masked unless you revealed them in the table</Text>
      {top > 0 ? <Text dimColor>…{top} more above (↑)</Text> : null}
      {rows.slice(top, top + room).map((r) => (
        <Text key={r.name}>
          <Text color={MARK_COLOR[r.state]}>{MARK[r.state]}</Text>{" "}
          {r.state === "added" ? `${r.name} = ${now(r)}` : null}
          {r.state === "changed" ? `${r.name}: ${old(r.name)} → ${now(r)}` : null}
          {r.state === "removed" ? `${r.name} (removed)` : null}
          {r.state === "renamed"
            ? `${r.from} → ${r.name}${stored[r.from!] === r.value ? "" : ` = ${now(r)}`}`
            : null}
        </Text>
      ))}
      {rows.length > top + room ? <Text dimColor>…{rows.length - top - room} more below (↓)</Text> : null}
      {props.footer}
    </Box>
  );
}
