/** Two environments side by side: keys missing on either side, keys whose values differ (masked). */
import { Box, Text } from "ink";
import { type ReactNode, useEffect, useState } from "react";
import { ErrorBox, Loading, Title, useScreenKeys } from "../components";
import { type EnvRef, type ProjectRef, useTui } from "../context";
import { useLoad } from "../use-load";
import { DiffBox } from "./History";

export function Compare(props: {
  project: ProjectRef;
  env: EnvRef;
  active: boolean;
  height: number;
}): ReactNode {
  const tui = useTui();
  const { project, env, active } = props;
  const loadedProject = useLoad(() => tui.api.projects.get(project.id), [project.id]);
  const others = (loadedProject.data?.environments ?? []).filter(
    (e) => e.name !== env.name && e.permission !== "none",
  );
  const current = loadedProject.data?.environments.find((e) => e.name === env.name)?.version;
  useEffect(() => {
    if (active && current !== undefined) tui.setVersion(current);
  }, [active, current, tui]);
  const [index, setIndex] = useState(0);
  const other = others[Math.min(index, others.length - 1)];
  const diff = useLoad(
    async () => (other ? tui.api.secrets.diff(project.id, env.name, { other: other.name }) : undefined),
    [project.id, env.name, other?.name],
  );

  useScreenKeys(
    active,
    "normal",
    (input, key) => {
      if (input === "r") return diff.reload();
      if (key.rightArrow || input === "l" || key.tab)
        setIndex((i) => (others.length ? (i + 1) % others.length : 0));
      if (key.leftArrow || input === "h")
        setIndex((i) => (others.length ? (i - 1 + others.length) % others.length : 0));
    },
    { ready: loadedProject.ready },
  );

  return (
    <Box flexDirection="column">
      <Title>Compare {env.name} with…</Title>
      {loadedProject.error ? <ErrorBox error={loadedProject.error} retry /> : null}
      {loadedProject.loading && !loadedProject.data ? <Loading what="environments" /> : null}
      <Text>
        {others.map((e) => (
          <Text key={e.name} inverse={e.name === other?.name}>
            {" "}
            {e.name}{" "}
          </Text>
        ))}
        {loadedProject.data && others.length === 0 ? (
          <Text dimColor>no other environment you can read</Text>
        ) : null}
      </Text>
      {other ? (
        <DiffBox
          title={`${env.name} → ${other.name}`}
          diff={diff.loading ? undefined : diff.data}
          error={diff.error}
          added={`only in ${other.name}`}
          removed={`only in ${env.name}`}
        />
      ) : null}
    </Box>
  );
}
