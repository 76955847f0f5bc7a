import { Box, Text } from "ink";
import { type ReactNode, useState } from "react";
import {
  ErrorBox,
  Loading,
  moveCursor,
  pad,
  Title,
  useScreenKeys,
  VirtualList,
  windowStart,
} from "../components";
import { useTui } from "../context";
import { clean, formatTime } from "../model";
import { useLoad } from "../use-load";

export function Projects({ active, height }: { active: boolean; height: number }): ReactNode {
  const tui = useTui();
  const projects = useLoad(() => tui.api.projects.list(), []);
  const [cursor, setCursor] = useState(0);
  const [top, setTop] = useState(0);
  const list = projects.data ?? [];
  const listHeight = Math.max(1, height - 2);

  useScreenKeys(
    active,
    "normal",
    (input, key) => {
      if (input === "r") return projects.reload();
      if (key.return && list[cursor]) {
        const p = list[cursor]!;
        return tui.push({ kind: "environments", project: { id: p.id, name: clean(p.name) } });
      }
      const next = moveCursor(cursor, list.length, input, key, listHeight);
      setCursor(next);
      setTop((t) => windowStart(next, list.length, listHeight, t));
    },
    { ready: projects.ready },
  );

  return (
    <Box flexDirection="column">
      <Title>Projects {projects.data ? `(${list.length})` : ""}</Title>
      {projects.error ? <ErrorBox error={projects.error} retry /> : null}
      {projects.loading && !projects.data ? <Loading what="projects" /> : null}
      {projects.data ? (
        <VirtualList
          items={list}
          cursor={cursor}
          top={top}
          height={listHeight}
          empty="no projects yet: create one with vault new"
          row={(p, _i, selected) => (
            <Text inverse={selected}>
              {selected ? "›" : " "} {pad(clean(p.name), 32)} <Text dimColor>{p.id.slice(0, 16)}…</Text>{" "}
              <Text dimColor>{formatTime(p.createdAt)}</Text>
            </Text>
          )}
        />
      ) : null}
    </Box>
  );
}
