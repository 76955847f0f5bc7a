/**
 * `vault trust [URL]`: binds the credential in use (VAULT_TOKEN, DOTENV_ME
 * or `.env.me`) to a server, so that it may go there when only a checkout's
 * `.env.vault` names that server. `--forget` removes the binding. A session
 * needs none: it is only ever sent to the server that issued it.
 */
import type { CommandContext } from "../../cli-kit";
import { CliError } from "../../cli-kit";
import { EXIT } from "../../exit-codes";
import { normalizeBaseUrl } from "../api";
import { credentialLabel, runClient } from "../context";
import { clean, note, warn } from "../output";

export function trust(ctx: CommandContext): Promise<number> {
  return runClient(ctx, async (client) => {
    const [given, extra] = client.positionals;
    if (extra !== undefined)
      throw new CliError(`unexpected argument "${extra}"`, EXIT.usage, ["run: vault help trust"]);
    const credential = client.credential();
    if (credential.source === "session") {
      note(client.io, "a session is only ever sent to the server that issued it: nothing to trust");
      note(client.io, "trust binds a credential from VAULT_TOKEN, DOTENV_ME or .env.me; none is set here");
      return EXIT.ok;
    }
    const what = credentialLabel(credential);
    if (client.flags.forget === true) {
      const before = client.store.unbind(credential.token);
      client.io.stdout.write(
        before
          ? `${what} is no longer bound to ${clean(before)}\n`
          : `${what} was bound to no server; nothing changed\n`,
      );
      return EXIT.ok;
    }
    const url = given === undefined ? client.server() : normalizeBaseUrl(given);
    const before = client.store.bind(credential.token, url);
    client.io.stdout.write(`${what} may now be sent to ${clean(url)}\n`);
    if (before !== undefined && before !== url) note(client.io, `it was bound to ${before} until now`);
    const linked = client.link.apiUrl;
    if (linked !== undefined) {
      let linkedUrl: string | undefined;
      try {
        linkedUrl = normalizeBaseUrl(linked);
      } catch {
        linkedUrl = undefined;
      }
      if (linkedUrl !== url)
        warn(client.io, `${client.link.path} points at ${linked.slice(0, 200)}, not at ${url}`);
    }
    return EXIT.ok;
  });
}
