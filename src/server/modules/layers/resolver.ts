/**
 * The one resolver of references (./references.ts), used by every path that
 * returns resolved values: pulls with resolve, get, run, export, .env.vault
 * builds, the TUI's and the web editor's reveal, explain, and the checks of
 * a push or save. It is pure: it sees values only through views (a layer's
 * name -> value, as written) and reaches other environments only through
 * `load`, which decides access (and audits nothing: its caller does, from
 * `touched`). Nothing here is cached across calls, so a resolved answer
 * always depends on the heads its caller loaded.
 *
 * Rules: a reference without an environment is read in the view it sits in
 * (for a branch, the merged view, so an inherited value sees the branch's
 * own keys); a view's `literal` names (values of versions made before
 * references existed) are never parsed; at most `maxDepth` references deep
 * (a chain A -> B -> ... of that many hops is fine, one more is refused);
 * a reference that comes back to a value being resolved is a cycle.
 */
import { type Parsed, parseValue, type Reference } from "./references";

/** One layer's values as written, seen by the resolver. */
export interface View {
  /** Unique per layer (an environment's id, or the environment with a user's overrides). */
  key: string;
  /** How messages name it: `production`, or `vlt_.../production` for another project's. */
  label: string;
  values: ReadonlyMap<string, string>;
  /** Names whose values are taken as written, never parsed. */
  literal?: ReadonlySet<string>;
}

export type Loaded = { view: View } | { problem: "missing" | "denied" };

/** Another environment, for a reference from `from` (its `project` set only for another project). */
export type Load = (from: View, target: { project?: string; env: string }) => Loaded | Promise<Loaded>;

export const MAX_DEPTH = 8;

export type ResolveErrorCode =
  | "MISSING_KEY"
  | "MISSING_ENVIRONMENT"
  | "DENIED"
  | "CYCLE"
  | "DEPTH"
  | "MALFORMED";

/** Why a value did not resolve: the root key, the references followed to the failing one, and what failed. */
export class ResolveError extends Error {
  constructor(
    readonly code: ResolveErrorCode,
    /** The key whose value was being resolved. */
    readonly key: string,
    /** The reference that failed, as written (for MALFORMED, the text that is not one). */
    readonly reference: string,
    /** References followed from the key's value to the failing one (the last is `reference`). */
    readonly path: readonly string[],
    message: string,
  ) {
    super(message);
    this.name = "ResolveError";
  }
}

/** How one value resolved: the references in it, each with where it points and how that resolved. */
export interface Trace {
  view: string;
  key: string;
  references: TraceRef[];
}

export interface TraceRef {
  text: string;
  /** The view it points at (its label), when found. */
  view?: string;
  key: string;
  error?: ResolveErrorCode;
  message?: string;
  trace?: Trace;
}

export interface ResolveOptions {
  load: Load;
  maxDepth?: number;
  /** "throw" (default): the first failure throws. "keep": a failing reference stays as written and is traced. */
  onError?: "throw" | "keep";
  /** Build a trace of each requested name (for explain). */
  trace?: boolean;
}

export interface Resolved {
  /** The requested names' values, resolved (in the order asked). */
  values: Map<string, string>;
  /** Every other view a resolution read from, by key. */
  touched: Map<string, View>;
  traces: Map<string, Trace>;
}

const parsedCache = new WeakMap<View, Map<string, Parsed>>();

function describe(code: ResolveErrorCode, ref: string, at: View, target?: string): string {
  switch (code) {
    case "MISSING_KEY":
      return `${ref} refers to a key that ${target ?? at.label} does not have`;
    case "MISSING_ENVIRONMENT":
      return `${ref} refers to an environment that does not exist`;
    case "DENIED":
      return `${ref} refers to ${target ?? "an environment"}, which you cannot read (or which does not exist)`;
    case "CYCLE":
      return `${ref} comes back to a value it is part of (a cycle)`;
    case "DEPTH":
      return `${ref} is more than ${MAX_DEPTH} references deep`;
    case "MALFORMED":
      return `${ref} is not a reference (@{KEY}, @{ENV.KEY} or @{vlt_.../ENV.KEY})`;
  }
}

/**
 * Resolves `names` of `root` (every name when undefined). Throws ResolveError
 * (in "throw" mode) naming the key and the reference.
 */
export async function resolve(
  root: View,
  names: Iterable<string> | undefined,
  options: ResolveOptions,
): Promise<Resolved> {
  const maxDepth = options.maxDepth ?? MAX_DEPTH;
  const keep = options.onError === "keep";
  const done = new Map<string, string>();
  const touched = new Map<string, View>();
  const loads = new Map<string, Loaded | Promise<Loaded>>();
  const traces = new Map<string, Trace>();

  const parsedOf = (view: View, name: string, raw: string): Parsed => {
    let cache = parsedCache.get(view);
    if (!cache) {
      cache = new Map();
      parsedCache.set(view, cache);
    }
    let parsed = cache.get(name);
    if (!parsed) {
      parsed = parseValue(raw);
      cache.set(name, parsed);
    }
    return parsed;
  };

  const targetOf = async (from: View, ref: Reference): Promise<Loaded> => {
    if (ref.env === undefined) return { view: from };
    const id = `${from.key}\u0000${ref.project ?? ""}\u0000${ref.env}`;
    let loaded = loads.get(id);
    if (loaded === undefined) {
      loaded = options.load(from, { env: ref.env, ...(ref.project ? { project: ref.project } : {}) });
      loads.set(id, loaded);
    }
    const result = await loaded;
    if ("view" in result && result.view !== root) touched.set(result.view.key, result.view);
    return result;
  };

  /** `key` (the root key), `stack` (view\0name of each value being resolved), `path` (references followed). */
  const valueAt = async (
    view: View,
    name: string,
    key: string,
    stack: string[],
    path: string[],
    trace: Trace | undefined,
  ): Promise<string> => {
    const id = `${view.key}\u0000${name}`;
    const memo = trace ? undefined : done.get(id);
    if (memo !== undefined) return memo;
    const raw = view.values.get(name)!;
    if (view.literal?.has(name) || !raw.includes("@{")) {
      done.set(id, raw);
      return raw;
    }
    const fail = (code: ResolveErrorCode, ref: string, target?: string): ResolveError =>
      new ResolveError(code, key, ref, [...path, ref], describe(code, ref, view, target));
    const parsed = parsedOf(view, name, raw);
    if ("malformed" in parsed) {
      if (!keep) throw fail("MALFORMED", parsed.malformed);
      done.set(id, raw);
      return raw;
    }
    const inner = [...stack, id];
    let out = "";
    for (const token of parsed.tokens) {
      if (typeof token === "string") {
        out += token;
        continue;
      }
      const node: TraceRef | undefined = trace ? { text: token.text, key: token.key } : undefined;
      if (node) trace!.references.push(node);
      const problem = (code: ResolveErrorCode, target?: string) => {
        const error = fail(code, token.text, target);
        if (!keep) throw error;
        if (node) {
          node.error = code;
          node.message = error.message;
        }
        out += token.text;
      };
      if (stack.length >= maxDepth) {
        problem("DEPTH");
        continue;
      }
      const loaded = await targetOf(view, token);
      if (!("view" in loaded)) {
        const label = token.project ? `${token.project}/${token.env}` : token.env;
        problem(loaded.problem === "denied" ? "DENIED" : "MISSING_ENVIRONMENT", label);
        continue;
      }
      const target = loaded.view;
      if (node) node.view = target.label;
      if (!target.values.has(token.key)) {
        problem("MISSING_KEY", target.label);
        continue;
      }
      if (inner.includes(`${target.key}\u0000${token.key}`)) {
        problem("CYCLE");
        continue;
      }
      const sub: Trace | undefined = node
        ? { view: target.label, key: token.key, references: [] }
        : undefined;
      if (node) node.trace = sub;
      out += await valueAt(target, token.key, key, inner, [...path, token.text], sub);
    }
    if (!trace) done.set(id, out);
    return out;
  };

  const values = new Map<string, string>();
  for (const name of names ?? root.values.keys()) {
    if (!root.values.has(name)) continue;
    const traced: Trace | undefined = options.trace
      ? { view: root.label, key: name, references: [] }
      : undefined;
    values.set(name, await valueAt(root, name, name, [], [], traced));
    if (traced) traces.set(name, traced);
  }
  return { values, touched, traces };
}
