/**
 * The environment's DOTENV_KEY (masked until asked; copied through OSC 52,
 * which puts it on the clipboard without drawing it) and the project's
 * service tokens (never the tokens themselves; revoke after a confirmation).
 */
import { Box, Text } from "ink";
import { type ReactNode, useState } from "react";
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
} from "../components";
import { type EnvRef, type ProjectRef, useTui } from "../context";
import { clean, formatTime, MASK } from "../model";
import { useLoad } from "../use-load";

/** The OSC 52 sequence that sets the clipboard. */
export function osc52(text: string): string {
  return `\u001b]52;c;${Buffer.from(text, "utf8").toString("base64")}\u0007`;
}

export function Keys(props: {
  project: ProjectRef;
  env: EnvRef;
  canManage: boolean;
  active: boolean;
  height: number;
}): ReactNode {
  const tui = useTui();
  const { project, env, active, canManage } = props;
  // The key is fetched (an audited read) only to show or copy it, and forgotten on rotation.
  const [key, setKey] = useState<string | undefined>(undefined);
  const fetchKey = async (): Promise<string | undefined> => {
    if (key) return key;
    try {
      const found = (await tui.api.envVault.keys(project.id, env.name))[0]?.key;
      if (!found) setNotice({ text: `${env.name} has no DOTENV_KEY yet`, color: "yellow" });
      setKey(found);
      return found;
    } catch (error) {
      tui.report(error);
      setNotice({ text: describeError(error).message, color: "red" });
      return undefined;
    }
  };
  const tokens = useLoad(
    async () => (canManage ? tui.api.tokens.list(project.id) : undefined),
    [project.id, canManage],
  );
  const [shownKey, setShownKey] = useState(false);
  const [confirm, setConfirm] = useState<
    { kind: "show" } | { kind: "rotate" } | { kind: "revoke"; id: string; name: string }
  >();
  const [cursor, setCursor] = useState(0);
  const [notice, setNotice] = useState<{ text: string; color: string } | undefined>();
  const list = tokens.data ?? [];
  const selected = list[cursor];

  const act = async (what: () => Promise<unknown>, done: string) => {
    try {
      await what();
      setNotice({ text: done, color: "green" });
    } catch (error) {
      tui.report(error);
      setNotice({ text: describeError(error).message, color: "red" });
    }
  };

  useScreenKeys(
    active,
    confirm ? "capture" : "normal",
    (input, k) => {
      if (confirm) {
        if (input === "y") {
          if (confirm.kind === "show")
            void fetchKey().then((found) => {
              if (found) setShownKey(true);
            });
          if (confirm.kind === "rotate")
            void act(async () => {
              await tui.api.envVault.rotateKey(project.id, env.name);
              setKey(undefined);
              setShownKey(false);
            }, `rotated: ${env.name} has a new DOTENV_KEY (the previous one still opens older builds)`);
          if (confirm.kind === "revoke")
            void act(async () => {
              await tui.api.tokens.revoke(project.id, confirm.id);
              tokens.reload();
            }, `revoked ${confirm.name}`);
        }
        setConfirm(undefined);
        return;
      }
      setNotice(undefined);
      if (input === "r") {
        setKey(undefined);
        setShownKey(false);
        return tokens.reload();
      }
      if (input === "v") return shownKey ? setShownKey(false) : setConfirm({ kind: "show" });
      if (input === "c") {
        void fetchKey().then((found) => {
          if (!found) return;
          tui.writeRaw(osc52(found));
          setNotice({
            text: "copied the DOTENV_KEY (OSC 52: the terminal must allow clipboard writes)",
            color: "green",
          });
        });
        return;
      }
      if (input === "o") {
        // The server refuses anyone else (403): say so here instead of asking first.
        if (!canManage)
          return setNotice({
            text: "only the project's owners and instance admins rotate keys",
            color: "yellow",
          });
        return setConfirm({ kind: "rotate" });
      }
      if (input === "x" && selected) {
        if (selected.status !== "active")
          return setNotice({ text: `${clean(selected.name)} is ${selected.status}`, color: "yellow" });
        return setConfirm({ kind: "revoke", id: selected.id, name: clean(selected.name) });
      }
      setCursor(moveCursor(cursor, list.length, input, k, 5));
    },
    { ready: tokens.ready },
  );

  return (
    <Box flexDirection="column">
      <Title>Keys and tokens · {env.name}</Title>
      {notice ? <Text color={notice.color}>{notice.text}</Text> : null}
      <Text bold>DOTENV_KEY_{env.name.toUpperCase()}</Text>
      <Text>{shownKey && key ? key : `dotenv://:key_${MASK}@…?environment=${env.name}`}</Text>
      <Text dimColor>v: show · c: copy{canManage ? " · o: rotate · x: revoke the selected token" : ""}</Text>
      <Text> </Text>
      <Text bold>Service tokens</Text>
      {!canManage ? <Text dimColor>only the project's owners see and revoke its tokens</Text> : null}
      {tokens.error ? <ErrorBox error={tokens.error} /> : null}
      {canManage && tokens.loading && !tokens.data ? <Loading what="tokens" /> : null}
      {canManage && tokens.data ? (
        <>
          <Text dimColor>
            {"  "}
            {pad("NAME", 20)} {pad("ENVIRONMENTS", 20)} {pad("ACCESS", 6)} {pad("STATUS", 8)} LAST USED
          </Text>
          <VirtualList
            items={list}
            cursor={cursor}
            top={Math.max(0, cursor - Math.max(1, props.height - 12) + 1)}
            height={Math.max(1, props.height - 12)}
            empty="no service tokens (vault tokens create)"
            row={(t, _i, sel) => (
              <Text inverse={sel}>
                {sel ? "›" : " "} {pad(clean(t.name), 20)} {pad(t.environments.join(","), 20)}{" "}
                {pad(t.write ? "write" : "read", 6)}{" "}
                <Text color={t.status === "active" ? "green" : "gray"}>{pad(t.status, 8)}</Text>{" "}
                {t.lastUsedAt ? formatTime(t.lastUsedAt) : "never"}
              </Text>
            )}
          />
        </>
      ) : null}
      {confirm?.kind === "show" ? <ConfirmLine question="Show the DOTENV_KEY on screen?" /> : null}
      {confirm?.kind === "rotate" ? (
        <ConfirmLine question={`Rotate ${env.name}'s DOTENV_KEY? (rebuild and redeploy .env.vault after)`} />
      ) : null}
      {confirm?.kind === "revoke" ? <ConfirmLine question={`Revoke the token ${confirm.name}?`} /> : null}
    </Box>
  );
}
