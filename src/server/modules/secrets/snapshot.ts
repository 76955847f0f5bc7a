/**
 * Reading a version back: fetch its refs from the keeper in one round trip
 * and open each with the binding it must have. A value that is missing, or
 * that was moved to another name, is an integrity failure, never another
 * value. The version itself (its name -> ref map and layout ref) reaches
 * this point only once its MAC verified (`versions.get`, see the secret
 * service's loadVersion), so an old ref under a current version fails too.
 */
import type { Entries, Environment, Project, Version } from "../../../appdb";
import type { AppContext } from "../../context";
import { binding, SealError } from "../../crypto/app-seal";
import { ApiError } from "../../errors";

export type { Entries } from "../../../appdb";

export interface Snapshot {
  version: number;
  entries: Entries;
  /** name -> value, in file order. */
  values: Map<string, string>;
  /** The layout's bytes, when asked for. */
  layout?: Uint8Array;
  /** Whether its values resolve references (false for versions made before references existed). */
  resolves: boolean;
}

/** Entries whose ref is "": in a branch's version, the parent's keys the branch removes. */
export const TOMBSTONE = "";

export function removedOf(entries: Entries): string[] {
  return entries.filter(([, ref]) => ref === TOMBSTONE).map(([name]) => name);
}

export const integrityError = () =>
  new ApiError(
    "INTEGRITY",
    "a stored value failed its integrity check",
    "run `vault doctor` on the server and check the audit log",
  );

/** A version whose MAC failed: app.db's snapshot is not the one the app committed. */
export const versionIntegrityError = (env: Environment, number: number) =>
  new ApiError(
    "INTEGRITY",
    `version ${number} of ${env.name} failed its integrity check`,
    "app.db was changed outside vault: run `vault doctor` on the server and restore from a backup",
  );

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function emptySnapshot(): Snapshot {
  return { version: 0, entries: [], values: new Map(), resolves: true };
}

export async function openSnapshot(
  ctx: Pick<AppContext, "keeper" | "sealer">,
  project: Project,
  env: Environment,
  row: Pick<Version, "number" | "entries" | "layoutRef" | "resolves">,
  options: { layout: boolean; names?: ReadonlySet<string> },
): Promise<Snapshot> {
  const entries = row.entries;
  const wanted = entries.filter(
    ([name, ref]) => ref !== TOMBSTONE && (options.names === undefined || options.names.has(name)),
  );
  const refs = wanted.map(([, ref]) => Buffer.from(ref, "hex"));
  if (options.layout) refs.push(Buffer.from(row.layoutRef));
  const blobs = await ctx.keeper.get(refs);
  const values = new Map<string, string>();
  try {
    wanted.forEach(([name], i) => {
      const blob = blobs[i];
      if (!blob) throw integrityError();
      values.set(name, utf8.decode(ctx.sealer.open(blob, binding("value", project.id, env.id, name))));
    });
    let layout: Uint8Array | undefined;
    if (options.layout) {
      const blob = blobs[wanted.length];
      if (!blob) throw integrityError();
      layout = ctx.sealer.open(blob, binding("layout", project.id, env.id, row.number));
    }
    return { version: row.number, entries, values, layout, resolves: row.resolves };
  } catch (error) {
    if (error instanceof SealError || error instanceof TypeError) throw integrityError();
    throw error;
  }
}
