/**
 * A project's change requests (of its protected environments): the open
 * ones (A: every one), the selected one's names (values masked; v reveals
 * them for an approver, after asking: an audited read), and what the caller
 * may do with it, each asked first: approve, reject, withdraw, rebase.
 */
import { Box, Text } from "ink";
import { type ReactNode, useState } from "react";
import type { ChangeRequest, RevealedRequest } from "../../client";
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
import { type ProjectRef, useTui } from "../context";
import { clean, formatTime, MASK, oneLine } from "../model";
import { useLoad } from "../use-load";

type Action = "approve" | "reject" | "withdraw" | "rebase" | "reveal";

const QUESTION: Record<Action, (r: ChangeRequest) => string> = {
  approve: (r) => `Approve change request #${r.number}? (${r.environment} becomes version ${r.head + 1})`,
  reject: (r) => `Reject change request #${r.number}?`,
  withdraw: (r) => `Withdraw your change request #${r.number}?`,
  rebase: (r) => `Rebase change request #${r.number} on version ${r.head} of ${r.environment}?`,
  reveal: (r) => `Show the values of change request #${r.number}? (an audited read)`,
};

export function Requests(props: { project: ProjectRef; active: boolean; height: number }): ReactNode {
  const tui = useTui();
  const { project, active, height } = props;
  const [all, setAll] = useState(false);
  const loaded = useLoad(() => tui.api.requests.list(project.id, { all }), [project.id, all]);
  const list = loaded.data ?? [];
  const [cursor, setCursor] = useState(0);
  const [top, setTop] = useState(0);
  const [confirm, setConfirm] = useState<Action | undefined>(undefined);
  const [revealed, setRevealed] = useState<RevealedRequest | undefined>(undefined);
  const [notice, setNotice] = useState<{ text: string; color: string } | undefined>();
  const selected = list[Math.min(cursor, Math.max(0, list.length - 1))];
  const listHeight = Math.max(1, Math.min(list.length || 1, height - 12));
  const openish = selected !== undefined && (selected.state === "open" || selected.state === "stale");

  const run = async (action: Action, r: ChangeRequest) => {
    try {
      switch (action) {
        case "reveal":
          setRevealed(await tui.api.requests.reveal(project.id, r.number));
          return;
        case "approve": {
          const done = await tui.api.requests.approve(project.id, r.number);
          setNotice({
            text: `approved #${r.number}: ${r.environment} is now version ${done.version}`,
            color: "green",
          });
          break;
        }
        case "reject":
          await tui.api.requests.reject(project.id, r.number);
          setNotice({ text: `rejected #${r.number}`, color: "green" });
          break;
        case "withdraw":
          await tui.api.requests.withdraw(project.id, r.number);
          setNotice({ text: `withdrew #${r.number}`, color: "green" });
          break;
        case "rebase": {
          const done = await tui.api.requests.rebase(project.id, r.number);
          setNotice({ text: `rebased #${r.number} on version ${done.baseVersion}`, color: "green" });
          break;
        }
      }
      setRevealed(undefined);
      loaded.reload();
    } catch (error) {
      tui.report(error);
      const { message, hint } = describeError(error);
      setNotice({ text: `${message}${hint ? ` (${hint})` : ""}`, color: "red" });
    }
  };

  /** Why the caller cannot do an action on the selected request, or undefined when they can. */
  const refusal = (action: Action, r: ChangeRequest): string | undefined => {
    if (r.state !== "open" && r.state !== "stale") return `#${r.number} is ${r.state}`;
    if (action === "withdraw") return r.canWithdraw ? undefined : "only its author can withdraw it";
    if (action === "rebase")
      return r.state !== "stale"
        ? `#${r.number} is on the latest version already`
        : r.canApprove || r.canWithdraw
          ? undefined
          : "only its author or an approver can rebase it";
    if (!r.canApprove)
      return r.canWithdraw ? "you opened it: someone else must approve it" : "you cannot approve it";
    if (action === "approve" && r.state === "stale") return `stale: rebase it first (b)`;
    return undefined;
  };

  useScreenKeys(
    active,
    confirm === undefined ? "normal" : "capture",
    (input, key) => {
      if (confirm !== undefined) {
        if (input === "y" && selected) void run(confirm, selected);
        setConfirm(undefined);
        return;
      }
      setNotice(undefined);
      if (input === "r") return loaded.reload();
      if (input === "A") {
        setAll((a) => !a);
        setCursor(0);
        setTop(0);
        return;
      }
      const action: Action | undefined =
        input === "a"
          ? "approve"
          : input === "x"
            ? "reject"
            : input === "w"
              ? "withdraw"
              : input === "b"
                ? "rebase"
                : input === "v"
                  ? "reveal"
                  : undefined;
      if (action && selected) {
        if (action === "reveal" && revealed?.number === selected.number) return setRevealed(undefined);
        const why = refusal(action, selected);
        if (why) return setNotice({ text: why, color: "yellow" });
        return setConfirm(action);
      }
      const next = moveCursor(cursor, list.length, input, key, listHeight);
      if (next !== cursor) setRevealed(undefined);
      setCursor(next);
      setTop((t) => windowStart(next, list.length, listHeight, t));
    },
    { ready: loaded.ready },
  );

  const values = revealed && selected && revealed.number === selected.number ? revealed.values : undefined;
  const line = (sign: string, color: string, name: string) => {
    const v = values?.[name];
    const text = !v
      ? sign === "-"
        ? ""
        : ` = ${MASK}`
      : sign === "+"
        ? ` = ${oneLine(v.to ?? "", 40)}`
        : sign === "-"
          ? ` (was ${oneLine(v.from ?? "", 30)})`
          : `: ${oneLine(v.from ?? "(none)", 28)} → ${oneLine(v.to ?? "(none)", 28)}`;
    return (
      <Text key={`${sign}${name}`}>
        <Text color={color}>{sign}</Text> {clean(name)}
        {text}
      </Text>
    );
  };

  return (
    <Box flexDirection="column">
      <Text>
        <Title>Change requests</Title>
        <Text dimColor>
          {" "}
          · {all ? "all" : "open"} (A: {all ? "open only" : "all"})
        </Text>
      </Text>
      {notice ? <Text color={notice.color}>{clean(notice.text)}</Text> : null}
      {loaded.error ? <ErrorBox error={loaded.error} retry /> : null}
      {loaded.loading && !loaded.data ? <Loading what="change requests" /> : null}
      {loaded.data ? (
        <>
          <Text dimColor>
            {"  "}
            {pad("#", 5)} {pad("ENVIRONMENT", 14)} {pad("STATE", 10)} {pad("BY", 24)} CHANGES
          </Text>
          <VirtualList
            items={list}
            cursor={cursor}
            top={top}
            height={listHeight}
            empty={all ? "no change requests" : "no open change requests"}
            row={(r, _i, sel) => (
              <Text inverse={sel}>
                {sel ? "›" : " "} {pad(`#${r.number}`, 5)} {pad(r.environment, 14)} {pad(r.state, 10)}{" "}
                {pad(clean(r.author), 24)} <Text color="green">+{r.summary.added.length}</Text>{" "}
                <Text color="yellow">~{r.summary.changed.length}</Text>{" "}
                <Text color="red">-{r.summary.removed.length}</Text>
              </Text>
            )}
          />
        </>
      ) : null}
      {selected ? (
        <Box flexDirection="column" borderStyle="round" borderColor="gray" paddingX={1}>
          <Text bold>
            #{selected.number} {selected.environment}: {selected.state} · {selected.kind} by{" "}
            {clean(selected.author)} at {formatTime(selected.createdAt)} on v{selected.baseVersion} (now v
            {selected.head})
          </Text>
          {selected.reason ? <Text>reason: {clean(selected.reason)}</Text> : null}
          {selected.decidedBy ? <Text dimColor>decided by {clean(selected.decidedBy)}</Text> : null}
          {[
            ...selected.summary.added.slice(0, 8).map((n) => line("+", "green", n)),
            ...selected.summary.changed.slice(0, 8).map((n) => line("~", "yellow", n)),
            ...selected.summary.removed.slice(0, 8).map((n) => line("-", "red", n)),
          ]}
          {openish ? (
            <Text dimColor>
              {selected.canApprove
                ? `${selected.state === "stale" ? "b: rebase" : "a: approve"} · x: reject · v: ${values ? "hide" : "show"} values`
                : selected.canWithdraw
                  ? `w: withdraw${selected.state === "stale" ? " · b: rebase" : ""} · someone else must approve it`
                  : "you can see its names only"}
            </Text>
          ) : null}
        </Box>
      ) : null}
      {confirm && selected ? <ConfirmLine question={QUESTION[confirm](selected)} /> : null}
    </Box>
  );
}
