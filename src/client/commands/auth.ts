/** `vault login`, `vault logout`, `vault whoami`. */
import { randomBytes } from "node:crypto";
import type { CommandContext } from "../../cli-kit";
import { CliError } from "../../cli-kit";
import { EXIT } from "../../exit-codes";
import { newPasswordProblem } from "../../password-rules";
import { formatVerificationCode, newVerificationCode } from "../../verification-code";
import { type ApiClient, createApiClient, type LoginAnswer, normalizeBaseUrl } from "../api";
import { type Client, flagString, runClient } from "../context";
import { ClientError } from "../errors";
import { clean, note, printJson } from "../output";
import { isInteractive, promptLine, promptSecret, readAllStdin } from "../prompt";

const HANDOFF_INTERVAL_MS = 2_000;
const HANDOFF_TIMEOUT_MS = 5 * 60_000;

const PROBE_TIMEOUT_MS = 10_000;

/** Whether a vault server answers its health check at `base`. */
async function answersAsVault(base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/healthz`, {
      headers: { accept: "application/json" },
      redirect: "manual",
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    const body = (await res.json().catch(() => undefined)) as { status?: unknown } | undefined;
    return res.status === 200 && body?.status === "ok";
  } catch {
    return false;
  }
}

/**
 * The server to sign in to. A URL with a path is usually a page of the server copied from the
 * browser (`https://host/cli/approve?...`, `https://host/open?...`): the server is its origin. It
 * keeps the path only when a vault server answers there (one served under a proxy's prefix).
 */
export async function loginServerUrl(given: string, say: (line: string) => void): Promise<string> {
  const base = normalizeBaseUrl(given);
  const { origin } = new URL(base);
  if (base === origin || (await answersAsVault(base))) return base;
  if (await answersAsVault(origin)) {
    say(`signing in to ${origin}: the server's address is its origin, without ${base.slice(origin.length)}`);
    return origin;
  }
  throw new CliError(`no vault server answers at ${base}, nor at ${origin}`, EXIT.usage, [
    `give the server's address without a path (vault login ${origin}), and check that the server runs`,
  ]);
}

async function loginServer(client: Client): Promise<string> {
  const positional = client.positionals[0];
  if (client.positionals.length > 1) {
    throw new CliError(`unexpected argument "${client.positionals[1]}"`, EXIT.usage, [
      "run: vault help login",
    ]);
  }
  if (positional) return loginServerUrl(positional, (line) => note(client.io, line));
  const server = client.server();
  // DOTENV_API_URL in a committed .env.vault is anyone's to change: a password goes there only
  // when someone at a terminal sees where (the prompt names it), or to a server signed in to before.
  if (client.serverSource() === "link" && !client.store.session(server) && !isInteractive(client.io)) {
    throw new CliError(
      `the server ${server} comes only from .env.vault, and there is no terminal to confirm it on`,
      EXIT.usage,
      [`name it: vault login ${server}`, "or pass --server URL or set VAULT_SERVER"],
    );
  }
  if (client.serverSource() === "link") note(client.io, `the server comes from DOTENV_API_URL in .env.vault`);
  return server;
}

/**
 * Asks for a new password until one meets the rules (checked as soon as it is typed, with the
 * server's own rules) and is typed the same twice.
 */
export async function chooseNewPassword(
  ask: (question: string) => Promise<string>,
  say: (line: string) => void,
  current?: string,
): Promise<string> {
  for (;;) {
    const first = await ask("New password: ");
    const problem = newPasswordProblem(first, current);
    if (problem) {
      say(`${problem.message}${problem.hint ? ` (${problem.hint})` : ""}; again`);
      continue;
    }
    const again = await ask("New password again: ");
    if (first === again) return first;
    say("the two did not match; again");
  }
}

async function newPassword(client: Client, fromStdin: string | undefined, current: string): Promise<string> {
  if (fromStdin !== undefined && fromStdin !== "") {
    const problem = newPasswordProblem(fromStdin, current);
    if (problem) {
      throw new CliError(
        `the new password on the second line of standard input: ${problem.message}`,
        EXIT.usage,
        problem.hint ? [problem.hint] : [],
      );
    }
    return fromStdin;
  }
  if (!isInteractive(client.io)) {
    throw new CliError("this account must choose a new password before anything else", EXIT.auth, [
      "sign in on a terminal (vault login), or give the new password on the second line of standard input with --password-stdin",
    ]);
  }
  note(client.io, "this account signed in with a one-time password: choose a new one");
  return chooseNewPassword(
    (question) => promptSecret(client.io, question),
    (line) => note(client.io, line),
    current,
  );
}

async function passwordLogin(client: Client, server: string): Promise<LoginAnswer> {
  const anonymous = createApiClient({ baseUrl: server });
  let email = flagString(client, "email");
  let password: string | undefined;
  let next: string | undefined;
  if (client.flags["password-stdin"] === true) {
    const lines = (await readAllStdin()).split(/\r?\n/);
    password = lines[0] ?? "";
    next = lines[1];
    if (password === "") throw new CliError("standard input held no password", EXIT.usage);
  }
  if (!email || password === undefined) {
    if (!isInteractive(client.io)) {
      throw new CliError("no terminal to ask on", EXIT.usage, [
        "pass --email E and --password-stdin (the password on standard input), or use a terminal",
      ]);
    }
    note(client.io, `signing in to ${server}`);
    email ??= (await promptLine(client.io, "Email: ")).trim();
    password ??= await promptSecret(client.io, "Password: ");
  }
  const answer = await anonymous.auth.login(email, password);
  if (answer.user.mustChangePassword) {
    const chosen = await newPassword(client, next, password);
    const signedIn = createApiClient({ baseUrl: server, token: answer.token });
    await signedIn.auth.changePassword(password, chosen);
    answer.user.mustChangePassword = false;
    note(client.io, "password changed");
  }
  return answer;
}

/** Opens a URL in the browser, quietly; false when no opener ran. */
function openBrowser(url: string): boolean {
  const opener = process.platform === "darwin" ? "open" : "xdg-open";
  try {
    const child = Bun.spawn([opener, url], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    child.unref();
    return true;
  } catch {
    return false;
  }
}

async function browserLogin(client: Client, server: string): Promise<LoginAnswer> {
  const api: ApiClient = createApiClient({ baseUrl: server });
  const request = `req_${randomBytes(32).toString("hex")}`;
  // The URL (shown, and passed to the browser opener) carries only the request id; collecting
  // the session also takes this secret, and approving it the verification code, both of which
  // the first poll registers (in its body) before anyone sees the URL.
  const secret = randomBytes(32).toString("hex");
  const code = newVerificationCode((n) => randomBytes(n));
  await api.auth.handoff(request, secret, code);
  const url = `${server}/cli/approve?request=${request}`;
  client.io.stderr.write(
    `Approve this sign-in in your browser:\n\n  ${url}\n\nand type this code there when the page asks for it:\n\n  ${formatVerificationCode(code)}\n\nCheck that the page shows this machine's address. Never type a code that someone else gave you.\n\n`,
  );
  if (client.flags.open !== false && isInteractive(client.io)) openBrowser(url);
  const deadline = Date.now() + HANDOFF_TIMEOUT_MS;
  for (;;) {
    let answer: Awaited<ReturnType<ApiClient["auth"]["handoff"]>>;
    try {
      answer = await api.auth.handoff(request, secret);
    } catch (error) {
      if (error instanceof ClientError && error.code === "NOT_FOUND") {
        const why = error.message === "no such request" ? "it expired or is unknown" : error.message;
        throw new CliError(`the sign-in request ended: ${why}`, EXIT.auth, [
          "run vault login --browser again",
        ]);
      }
      throw error;
    }
    if ("token" in answer) return answer;
    if (Date.now() > deadline) {
      throw new CliError("nobody approved the sign-in in time", EXIT.auth, [
        "run vault login --browser again",
      ]);
    }
    await Bun.sleep(HANDOFF_INTERVAL_MS);
  }
}

export function login(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const server = await loginServer(client);
    const answer =
      client.flags.browser === true
        ? await browserLogin(client, server)
        : await passwordLogin(client, server);
    client.store.saveSession(server, {
      token: answer.token,
      email: answer.user.email,
      userId: answer.user.id,
      expiresAt: answer.expiresAt,
    });
    client.io.stdout.write(
      `signed in to ${server} as ${answer.user.email} (${answer.user.role}) until ${new Date(answer.expiresAt).toISOString().replace(/\.\d+Z$/, "Z")}\n`,
    );
    if (client.io.env.VAULT_TOKEN)
      note(client.io, "VAULT_TOKEN is set and wins over this session while it is");
    return EXIT.ok;
  });
}

export function logout(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const server = client.positionals[0] ? normalizeBaseUrl(client.positionals[0]) : client.server();
    const session = client.store.session(server);
    if (!session) {
      client.io.stdout.write(`not signed in to ${server}\n`);
      return EXIT.ok;
    }
    try {
      await createApiClient({ baseUrl: server, token: session.token }).auth.logout();
    } catch (error) {
      // Forget it locally anyway; say whether the server still holds it.
      if (!(error instanceof ClientError) || error.code !== "UNAUTHENTICATED") {
        client.store.forgetSession(server);
        note(
          client.io,
          `signed out here, but the server could not revoke the session (${(error as Error).message})`,
        );
        return EXIT.ok;
      }
    }
    client.store.forgetSession(server);
    client.io.stdout.write(`signed out of ${server}\n`);
    return EXIT.ok;
  });
}

export function whoami(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const server = client.server();
    const me = await client.api().auth.me();
    const source = client.credentialSource()!;
    if (client.json) {
      printJson(client.io, { server, source, ...me });
      return EXIT.ok;
    }
    if (me.kind === "service") {
      client.io.stdout.write(
        `service token ${clean(me.token.name ?? me.token.id)} (${me.token.canWrite ? "read-write" : "read-only"}) for project ${me.projectId} on ${server} (from ${source})\n`,
      );
    } else {
      const scope = me.kind === "me" ? ` for project ${me.projectId}` : "";
      client.io.stdout.write(
        `${clean(me.user.email)} (${me.user.role})${scope} on ${server} (from ${source})\n`,
      );
    }
    return EXIT.ok;
  });
}
