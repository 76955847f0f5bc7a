/** The project's recent audit events, filterable by action, actor or detail. */
import { Box, Text } from "ink";
import { type ReactNode, useMemo, useState } from "react";
import {
  ErrorBox,
  Loading,
  moveCursor,
  pad,
  TextField,
  Title,
  useScreenKeys,
  VirtualList,
  windowStart,
} from "../components";
import { type ProjectRef, useTui } from "../context";
import { clean, formatTime, oneLine } from "../model";
import { useLoad } from "../use-load";

export function Audit(props: {
  project: ProjectRef;
  active: boolean;
  height: number;
  width: number;
}): ReactNode {
  const tui = useTui();
  const { project, active, height, width } = props;
  const loaded = useLoad(() => tui.api.audit.list({ project: project.id, limit: 500 }), [project.id]);
  const [filter, setFilter] = useState("");
  const [editing, setEditing] = useState(false);
  const [cursor, setCursor] = useState(0);
  const [top, setTop] = useState(0);
  const events = useMemo(() => {
    const all = loaded.data ?? [];
    if (!filter) return all;
    const needle = filter.toLowerCase();
    return all.filter((e) =>
      `${e.action} ${e.actor.label} ${JSON.stringify(e.detail ?? "")}`.toLowerCase().includes(needle),
    );
  }, [loaded.data, filter]);
  const listHeight = Math.max(1, height - 3);

  useScreenKeys(
    active,
    editing ? "capture" : "normal",
    (input, key) => {
      if (editing) {
        if (key.escape) {
          setFilter("");
          setEditing(false);
        }
        return;
      }
      if (input === "/") return setEditing(true);
      if (input === "r") return loaded.reload();
      const next = moveCursor(cursor, events.length, input, key, listHeight);
      setCursor(next);
      setTop((t) => windowStart(next, events.length, listHeight, t));
    },
    { ready: loaded.ready },
  );

  return (
    <Box flexDirection="column">
      <Text>
        <Title>Audit · {project.name}</Title>
        <Text dimColor>
          {" "}
          {events.length} events{filter ? ` matching "${filter}"` : ""}
        </Text>
      </Text>
      {editing ? (
        <Text>
          /{" "}
          <TextField
            value={filter}
            focus={active}
            onChange={(v) => {
              setFilter(v);
              setCursor(0);
              setTop(0);
            }}
            onSubmit={() => setEditing(false)}
          />
        </Text>
      ) : (
        <Text dimColor>{filter ? `filter: ${filter}` : "/ to filter"}</Text>
      )}
      {loaded.error ? <ErrorBox error={loaded.error} retry /> : null}
      {loaded.loading && !loaded.data ? <Loading what="events" /> : null}
      {loaded.data ? (
        <VirtualList
          items={events}
          cursor={cursor}
          top={top}
          height={listHeight}
          empty="no events"
          row={(e, _i, sel) => (
            <Text inverse={sel}>
              {pad(formatTime(e.at), 17)} {pad(clean(e.action), 20)} {pad(clean(e.actor.label), 22)}{" "}
              <Text dimColor>
                {oneLine(e.detail ? JSON.stringify(e.detail) : "", Math.max(4, width - 64))}
              </Text>
            </Text>
          )}
        />
      ) : null}
    </Box>
  );
}
