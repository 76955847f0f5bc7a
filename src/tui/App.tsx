/**
 * The shell: a stack of screens (all stay mounted, so a screen keeps its
 * state, pending changes included, while another is on top), the status bar,
 * breadcrumbs, the help overlay and the banner shown while the server cannot
 * be reached.
 */
import { Box, Text, useApp, useStdout, useWindowSize } from "ink";
import { type ReactNode, useCallback, useEffect, useMemo, useState } from "react";
import { type ApiClient, ClientError, type Me } from "../client";
import { BINDINGS, GLOBAL_BINDINGS } from "./bindings";
import { type Route, type Tui, TuiContext } from "./context";
import { KeyRouter, useKeys } from "./keys";
import { clean } from "./model";
import { Audit } from "./screens/Audit";
import { Compare } from "./screens/Compare";
import { Environments } from "./screens/Environments";
import { History } from "./screens/History";
import { Keys } from "./screens/Keys";
import { Projects } from "./screens/Projects";
import { Requests } from "./screens/Requests";
import { Secrets } from "./screens/Secrets";

export interface AppProps {
  api: ApiClient;
  /** The product's version, for the status bar. */
  version: string;
  /** Open this project first (a linked directory, --project, a service token's project). */
  projectId?: string;
  /** How often to ask /readyz while the server is unreachable. */
  retryMs?: number;
  /** Called each time every key typed so far has been handled and drawn (tests wait on it). */
  onIdle?: () => void;
}

const CHROME_ROWS = 3;

export function App(props: AppProps): ReactNode {
  return (
    <KeyRouter onIdle={props.onIdle}>
      <Shell {...props} />
    </KeyRouter>
  );
}

function Shell(props: AppProps): ReactNode {
  const { api } = props;
  const app = useApp();
  const { stdout } = useStdout();
  const size = useWindowSize();
  const columns = size.columns || 80;
  const rows = size.rows || 24;
  const [stack, setStack] = useState<Route[]>(() =>
    props.projectId
      ? [
          { kind: "projects" },
          { kind: "environments", project: { id: props.projectId, name: props.projectId } },
        ]
      : [{ kind: "projects" }],
  );
  const [helpOpen, setHelpOpen] = useState(false);
  const [offline, setOffline] = useState(false);
  const [reloadToken, setReloadToken] = useState(0);
  const [version, setVersion] = useState<number | undefined>(undefined);
  const [me, setMe] = useState<Me | undefined>(undefined);
  const top = stack[stack.length - 1]!;

  const report = useCallback((error: unknown) => {
    if (error instanceof ClientError && error.unreachable) setOffline(true);
  }, []);

  // Who is signed in; asked again when the server comes back if it was not answered yet.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reloadToken is the retry trigger.
  useEffect(() => {
    if (me) return;
    api.auth.me().then(
      (m) => {
        setMe(m);
        if (m.kind === "service") {
          setStack((s) =>
            s.length === 1
              ? [...s, { kind: "environments", project: { id: m.projectId, name: m.projectId } }]
              : s,
          );
        }
      },
      (error: unknown) => {
        if (error instanceof ClientError && (error.code === "UNAUTHENTICATED" || error.code === "FORBIDDEN"))
          app.exit(error);
        else report(error);
      },
    );
  }, [api, app, report, reloadToken]);

  useEffect(() => {
    if (!offline) return;
    const timer = setInterval(() => {
      api.ready().then(
        () => {
          setOffline(false);
          setReloadToken((n) => n + 1);
        },
        () => undefined,
      );
    }, props.retryMs ?? 1500);
    return () => clearInterval(timer);
  }, [offline, api, props.retryMs]);

  const tui: Tui = useMemo(
    () => ({
      api,
      reloadToken,
      report,
      push: (route) => {
        setVersion(undefined);
        setStack((s) => [...s, route]);
      },
      back: () =>
        setStack((s) => {
          if (s.length <= 1) {
            app.exit();
            return s;
          }
          setVersion(undefined);
          return s.slice(0, -1);
        }),
      help: () => setHelpOpen(true),
      retitle: (projectId, name) =>
        setStack((s) =>
          s.some((r) => "project" in r && r.project.id === projectId && r.project.name !== name)
            ? s.map((r) =>
                "project" in r && r.project.id === projectId ? { ...r, project: { id: projectId, name } } : r,
              )
            : s,
        ),
      setVersion,
      writeRaw: (text) => {
        stdout.write(text);
      },
    }),
    [api, reloadToken, report, app, stdout],
  );

  useKeys(helpOpen, () => setHelpOpen(false));

  const bodyHeight = Math.max(3, rows - CHROME_ROWS - (offline ? 1 : 0));
  const env = "env" in top ? top.env : undefined;
  const project = "project" in top ? top.project : undefined;
  const who = clean(
    !me ? "…" : me.kind === "service" ? `token ${me.token.name ?? me.token.id}` : me.user.email,
  );

  return (
    <TuiContext.Provider value={tui}>
      <Box flexDirection="column" width={columns} height={rows}>
        <Box>
          <Text inverse>
            {statusLine(
              [
                api.baseUrl.replace(/^https?:\/\//, ""),
                who,
                project?.name,
                env?.name,
                env ? `v${version ?? env.version}` : undefined,
                env?.permission,
                `vault ${props.version}`,
              ],
              columns,
            )}
          </Text>
        </Box>
        <Text color="cyan" wrap="truncate-start">
          {breadcrumbs(stack)}
        </Text>
        {offline ? (
          <Text backgroundColor="red" color="white">
            {" the server cannot be reached; retrying… (what you see may be out of date) ".slice(0, columns)}
          </Text>
        ) : null}
        <Box flexDirection="column" height={bodyHeight} overflow="hidden">
          {helpOpen ? <Help route={top} /> : null}
          {stack.map((route, i) => (
            <Box
              // biome-ignore lint/suspicious/noArrayIndexKey: a stack position is the screen's identity.
              key={i}
              flexDirection="column"
              // A screen taller than the body is cut at the bottom. Shrunk to fit instead, its rows
              // were squeezed to no height and drawn over each other (the line under the banner lost
              // its first letter to the blank line drawn on top of it).
              flexShrink={0}
              display={!helpOpen && i === stack.length - 1 ? "flex" : "none"}
            >
              <Screen
                route={route}
                active={!helpOpen && i === stack.length - 1}
                onTop={i === stack.length - 1}
                height={bodyHeight}
                width={columns}
              />
            </Box>
          ))}
        </Box>
        <Text dimColor wrap="truncate">
          {"? help · q/Esc back · Ctrl-C quit"}
        </Text>
      </Box>
    </TuiContext.Provider>
  );
}

/** The status bar's text; the last part (the product's version) goes first when the line is too long. */
function statusLine(parts: (string | undefined)[], width: number): string {
  const present = parts.filter((p): p is string => p !== undefined && p !== "");
  let text = ` ${present.join(" │ ")} `;
  if (text.length > width) text = ` ${present.slice(0, -1).join(" │ ")} `;
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

function breadcrumbs(stack: readonly Route[]): string {
  const parts: string[] = [];
  for (const route of stack) {
    if (route.kind === "projects") parts.push("projects");
    else if (route.kind === "environments") parts.push(route.project.name);
    else if (route.kind === "secrets") parts.push(route.env.name);
    else parts.push(route.kind);
  }
  return parts.join(" › ");
}

function Help({ route }: { route: Route }): ReactNode {
  const list = [...BINDINGS[route.kind], ...GLOBAL_BINDINGS];
  const width = Math.max(...list.map((b) => b.keys.length)) + 2;
  return (
    <Box flexDirection="column" flexShrink={0} borderStyle="round" borderColor="cyan" paddingX={1}>
      <Text bold>keys: {route.kind}</Text>
      {list.map((b) => (
        <Text key={b.keys}>
          <Text color="yellow">{b.keys.padEnd(width)}</Text>
          {b.does}
        </Text>
      ))}
    </Box>
  );
}

function Screen(props: {
  route: Route;
  /** On top and taking keys (not under the help). */
  active: boolean;
  /** On top of the stack. */
  onTop: boolean;
  height: number;
  width: number;
}): ReactNode {
  const { route, active, onTop, height, width } = props;
  switch (route.kind) {
    case "projects":
      return <Projects active={active} height={height} />;
    case "environments":
      return <Environments project={route.project} active={active} onTop={onTop} height={height} />;
    case "secrets":
      return (
        <Secrets
          project={route.project}
          env={route.env}
          active={active}
          onTop={onTop}
          height={height}
          width={width}
        />
      );
    case "history":
      return <History project={route.project} env={route.env} active={active} height={height} />;
    case "compare":
      return <Compare project={route.project} env={route.env} active={active} height={height} />;
    case "keys":
      return (
        <Keys
          project={route.project}
          env={route.env}
          canManage={route.canManage}
          active={active}
          height={height}
        />
      );
    case "audit":
      return <Audit project={route.project} active={active} height={height} width={width} />;
    case "requests":
      return <Requests project={route.project} active={active} height={height} />;
  }
}
