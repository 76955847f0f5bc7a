/** An environment's versions: who, when, what; a diff against the current one; rollback after a confirmation. */
import { Box, Text } from "ink";
import { type ReactNode, useEffect, useState } from "react";
import type { DiffAnswer } from "../../client";
import {
  ConfirmLine,
  describeError,
  ErrorBox,
  Loading,
  moveCursor,
  pad,
  Title,
  useScreenKeys,
  VirtualList,
  windowStart,
} from "../components";
import { type EnvRef, type ProjectRef, useTui } from "../context";
import { clean, formatTime, oneLine } from "../model";
import { useLoad } from "../use-load";

export function History(props: {
  project: ProjectRef;
  env: EnvRef;
  active: boolean;
  height: number;
}): ReactNode {
  const tui = useTui();
  const { project, env, active, height } = props;
  const loaded = useLoad(
    () => tui.api.secrets.versions(project.id, env.name, { limit: 1000 }),
    [project.id, env.name],
  );
  const versions = loaded.data?.versions ?? [];
  const head = loaded.data?.head;
  // The status bar shows the version this screen lists, not the one the screen below knew.
  useEffect(() => {
    if (active && head !== undefined) tui.setVersion(head);
  }, [active, head, tui]);
  const [cursor, setCursor] = useState(0);
  const [top, setTop] = useState(0);
  const [confirm, setConfirm] = useState<number | undefined>(undefined);
  const [confirmReveal, setConfirmReveal] = useState(false);
  const [diff, setDiff] = useState<{ version: number; answer?: DiffAnswer; error?: unknown } | undefined>();
  const [notice, setNotice] = useState<{ text: string; color: string } | undefined>();
  const selected = versions[cursor];
  const listHeight = Math.max(1, height - (diff ? 10 : 4));

  const rollback = async (version: number) => {
    try {
      const answer = await tui.api.secrets.rollback(project.id, env.name, version, head);
      setNotice(
        answer.request
          ? {
              text: `${env.name} is protected: change request #${answer.request.number} opened; an approver must approve it`,
              color: "yellow",
            }
          : { text: `rolled back: version ${answer.version} equals version ${version}`, color: "green" },
      );
      setDiff(undefined);
      loaded.reload();
    } catch (error) {
      tui.report(error);
      setNotice({ text: `not rolled back: ${describeError(error).message}`, color: "red" });
    }
  };

  const showDiff = (version: number, reveal: boolean) => {
    if (head === undefined) return;
    setDiff({ version });
    tui.api.secrets.diff(project.id, env.name, { from: version, to: head, reveal }).then(
      (answer) => setDiff({ version, answer }),
      (error: unknown) => {
        tui.report(error);
        setDiff({ version, error });
      },
    );
  };

  useScreenKeys(
    active,
    confirm === undefined && !confirmReveal ? "normal" : "capture",
    (input, key) => {
      if (confirmReveal) {
        if (input === "y" && diff) showDiff(diff.version, true);
        setConfirmReveal(false);
        return;
      }
      if (confirm !== undefined) {
        if (input === "y") void rollback(confirm);
        setConfirm(undefined);
        return;
      }
      setNotice(undefined);
      if (input === "r") return loaded.reload();
      if (key.return && selected) return showDiff(selected.version, false);
      if (input === "v" && diff?.answer) {
        if (diff.answer.values) return showDiff(diff.version, false);
        return setConfirmReveal(true);
      }
      if (input === "b" && selected) {
        if (env.permission !== "write")
          return setNotice({
            text: `read-only: your access to ${env.name} is ${env.permission}`,
            color: "yellow",
          });
        if (selected.version === head)
          return setNotice({ text: "that is the current version", color: "yellow" });
        return setConfirm(selected.version);
      }
      const next = moveCursor(cursor, versions.length, input, key, listHeight);
      setCursor(next);
      setTop((t) => windowStart(next, versions.length, listHeight, t));
    },
    { ready: loaded.ready },
  );

  return (
    <Box flexDirection="column">
      <Text>
        <Title>History of {env.name}</Title>
        {head !== undefined ? <Text dimColor> · current v{head}</Text> : null}
      </Text>
      {notice ? <Text color={notice.color}>{notice.text}</Text> : null}
      {loaded.error ? <ErrorBox error={loaded.error} retry /> : null}
      {loaded.loading && !loaded.data ? <Loading what="versions" /> : null}
      {loaded.data ? (
        <>
          <Text dimColor>
            {"  "}
            {pad("VERSION", 8)} {pad("WHEN (UTC)", 17)} {pad("AUTHOR", 24)} CHANGES
          </Text>
          <VirtualList
            items={versions}
            cursor={cursor}
            top={top}
            height={listHeight}
            empty="no versions yet"
            row={(v, _i, sel) => (
              <Text inverse={sel}>
                {sel ? "›" : " "} {pad(`v${v.version}${v.version === head ? "*" : ""}`, 8)}{" "}
                {pad(formatTime(v.createdAt), 17)} {pad(clean(v.author), 24)}{" "}
                <Text color="green">+{v.summary.added.length}</Text>{" "}
                <Text color="yellow">~{v.summary.changed.length}</Text>{" "}
                <Text color="red">-{v.summary.removed.length}</Text>
                {v.kind !== "push" ? <Text dimColor> {v.kind}</Text> : null}
              </Text>
            )}
          />
        </>
      ) : null}
      {diff ? (
        <DiffBox
          title={`v${diff.version} → v${head} (current)`}
          diff={diff.answer}
          error={diff.error}
          revealHint="v: show the values (asks)"
        />
      ) : null}
      {confirmReveal && diff ? (
        <ConfirmLine question={`Show the values that differ between v${diff.version} and v${head}?`} />
      ) : null}
      {confirm !== undefined ? (
        <ConfirmLine
          question={`Roll ${env.name} back to version ${confirm}? (a new version v${(head ?? 0) + 1} equal to it)`}
        />
      ) : null}
    </Box>
  );
}

/** Which keys differ between two sides; never a value. */
export function DiffBox(props: {
  title: string;
  diff: DiffAnswer | undefined;
  error?: unknown;
  added?: string;
  removed?: string;
  /** Says which key reveals the values. */
  revealHint?: string;
}): ReactNode {
  const { diff } = props;
  const list = (names: string[]) =>
    names.length === 0
      ? "none"
      : names.slice(0, 12).join(", ") + (names.length > 12 ? ` …+${names.length - 12}` : "");
  return (
    <Box flexDirection="column" borderStyle="round" borderColor="gray" paddingX={1}>
      <Text bold>{props.title}</Text>
      {props.error ? <ErrorBox error={props.error} /> : null}
      {!diff && !props.error ? <Loading what="the diff" /> : null}
      {diff ? (
        <>
          <Text>
            <Text color="green">{props.added ?? "added"}: </Text>
            {list(diff.added)}
          </Text>
          <Text>
            <Text color="red">{props.removed ?? "removed"}: </Text>
            {list(diff.removed)}
          </Text>
          <Text>
            <Text color="yellow">values differ (masked): </Text>
            {list(diff.changed)}
          </Text>
          <Text dimColor>
            {diff.unchanged} the same{diff.values ? "" : props.revealHint ? ` · ${props.revealHint}` : ""}
          </Text>
          {diff.values
            ? Object.entries(diff.values)
                .slice(0, 8)
                .map(([name, v]) => (
                  <Text key={name}>
                    {name}: {v.from === null ? "(none)" : oneLine(v.from, 28)} →{" "}
                    {v.to === null ? "(none)" : oneLine(v.to, 28)}
                  </Text>
                ))
            : null}
        </>
      ) : null}
    </Box>
  );
}
