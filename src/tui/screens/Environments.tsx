import { Box, Text } from "ink";
import { type ReactNode, useEffect, useState } from "react";
import { ErrorBox, Loading, moveCursor, pad, Title, useScreenKeys, VirtualList } from "../components";
import { type ProjectRef, useTui } from "../context";
import { clean } from "../model";
import { useLoad, useReturns } from "../use-load";

const PERMISSION_COLOR = { write: "green", read: "yellow", none: "gray" } as const;

export function Environments(props: {
  project: ProjectRef;
  active: boolean;
  onTop: boolean;
  height: number;
}): ReactNode {
  const tui = useTui();
  const { project, active } = props;
  // Reload on coming back to this screen: versions move when secrets are saved.
  const returns = useReturns(props.onTop);
  const loaded = useLoad(() => tui.api.projects.get(project.id), [project.id, returns]);
  const [cursor, setCursor] = useState(0);
  const p = loaded.data;
  const envs = p?.environments ?? [];
  const selected = envs[cursor];
  const ref = p ? { id: p.id, name: clean(p.name) } : project;
  useEffect(() => {
    if (p && clean(p.name) !== project.name) tui.retitle(p.id, clean(p.name));
  }, [p, project.name, tui]);

  useScreenKeys(
    active,
    "normal",
    (input, key) => {
      if (input === "r") return loaded.reload();
      if (!selected || !p) {
        setCursor(moveCursor(cursor, envs.length, input, key, 10));
        return;
      }
      const env = { name: selected.name, permission: selected.permission, version: selected.version };
      if (key.return) return tui.push({ kind: "secrets", project: ref, env });
      if (input === "h") return tui.push({ kind: "history", project: ref, env });
      if (input === "c") return tui.push({ kind: "compare", project: ref, env });
      if (input === "K") return tui.push({ kind: "keys", project: ref, env, canManage: p.canManage });
      if (input === "a") return tui.push({ kind: "audit", project: ref });
      if (input === "R") return tui.push({ kind: "requests", project: ref });
      setCursor(moveCursor(cursor, envs.length, input, key, 10));
    },
    { ready: loaded.ready },
  );

  return (
    <Box flexDirection="column">
      <Title>
        {p ? clean(p.name) : project.name} <Text dimColor>{project.id}</Text>
      </Title>
      {loaded.error ? <ErrorBox error={loaded.error} retry /> : null}
      {loaded.loading && !p ? <Loading what="environments" /> : null}
      {p ? (
        <>
          <Text dimColor>
            {"  "}
            {pad("ENVIRONMENT", 24)} {pad("VERSION", 8)} ACCESS
          </Text>
          <VirtualList
            items={envs}
            cursor={cursor}
            top={0}
            height={Math.max(1, props.height - 3)}
            row={(e, _i, sel) => (
              <Text inverse={sel}>
                {sel ? "›" : " "} {pad(`${e.name}${e.main ? " *" : ""}`, 24)} {pad(`v${e.version}`, 8)}{" "}
                <Text color={PERMISSION_COLOR[e.permission]}>{e.permission}</Text>
              </Text>
            )}
          />
        </>
      ) : null}
    </Box>
  );
}
