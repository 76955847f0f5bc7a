/**
 * An environment's values for `run` and `export`, from the server, or from
 * the encrypted offline copy of the last successful pull when the server
 * cannot be reached (and only then: a refused credential never falls back).
 */
import { CliError } from "../../cli-kit";
import { EXIT } from "../../exit-codes";
import { type CacheIdentity, createCache } from "../cache";
import type { Client } from "../context";
import { ClientError } from "../errors";
import { isoTime, warn } from "../output";
import type { EnvRef } from "../refs";

export function cacheValues(
  client: Client,
  id: CacheIdentity,
  version: number,
  values: Record<string, string>,
): void {
  try {
    createCache({ dir: client.store.dir }).save(id, {
      environment: id.environment,
      version,
      fetchedAt: Date.now(),
      values,
    });
  } catch (error) {
    warn(client.io, `could not keep an offline copy (${(error as Error).message})`);
  }
}

export interface Values {
  values: Record<string, string>;
  version: number;
  fromCache: boolean;
}

export interface FallbackOptions {
  /** Use the offline copy when the server cannot be reached (run: yes unless --no-fallback). */
  fallback: boolean;
  /** Use the offline copy without asking the server. */
  offline: boolean;
}

/** The project for an offline read: the flag or link, else the one this credential was last seen with. */
function offlineProject(client: Client): string | undefined {
  const flag = client.flags.project;
  if (typeof flag === "string") return flag;
  if (client.link.projectId) return client.link.projectId;
  return client.store.projectOf(client.fingerprint());
}

export async function fetchValues(client: Client, ref: EnvRef, options: FallbackOptions): Promise<Values> {
  const server = client.server();
  const fromCache = (reason: string | undefined): Values => {
    const projectId = offlineProject(client);
    const cached = projectId
      ? createCache({ dir: client.store.dir }).load({ server, projectId, environment: ref.env })
      : undefined;
    if (!cached) {
      throw new CliError(
        reason
          ? `${reason}, and there is no offline copy of ${ref.env}`
          : `there is no offline copy of ${ref.env} for this project on ${server}`,
        reason ? EXIT.network : EXIT.notFound,
        ["a copy is kept after each successful vault run or vault pull of the latest version"],
      );
    }
    if (ref.version !== undefined && cached.version !== ref.version) {
      throw new CliError(
        `the offline copy of ${ref.env} is version ${cached.version}, not ${ref.version}`,
        EXIT.network,
      );
    }
    warn(
      client.io,
      `${reason ? `${reason}; ` : ""}using the offline copy of ${ref.env} version ${cached.version} pulled at ${isoTime(cached.fetchedAt)}`,
    );
    return { values: cached.values, version: cached.version, fromCache: true };
  };

  if (options.offline) return fromCache(undefined);
  try {
    const projectId = await client.projectId();
    const answer = await client.api().secrets.pullValues(projectId, ref.env, ref.version);
    if (ref.version === undefined) {
      cacheValues(client, { server, projectId, environment: ref.env }, answer.version, answer.values);
      if (client.credentialSource() !== "session")
        client.store.rememberProject(client.fingerprint(), projectId);
    }
    return { values: answer.values, version: answer.version, fromCache: false };
  } catch (error) {
    if (error instanceof ClientError && error.unreachable) {
      const reason = error.message;
      if (!options.fallback) {
        throw new CliError(reason, EXIT.network, [
          "--no-fallback refused the offline copy; drop it to use one",
        ]);
      }
      return fromCache(reason);
    }
    throw error;
  }
}
