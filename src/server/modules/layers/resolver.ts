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

/** What each value parsed to, kept with the values map (a cached version's map outlives any one view of it). */
const parsedCache = new WeakMap<ReadonlyMap<string, string>, Map<string, Parsed>>();

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

/** A reference into an environment not loaded yet: the pass that met it is run again once it is. */
const PENDING = Symbol("pending");

/**
 * Resolves `names` of `root` (every name when undefined). Throws ResolveError
 * (in "throw" mode) naming the key and the reference.
 *
 * Resolution is synchronous over the views loaded so far; a pass that meets
 * an environment not loaded yet notes it, and once the pass ends every such
 * environment is loaded (at once) and the pass runs again. Most reads take
 * two passes (one per level of environments), whatever their number of
 * references, and no promise per value.
 */
export async function resolve(
  root: View,
  names: Iterable<string> | undefined,
  options: ResolveOptions,
): Promise<Resolved> {
  const maxDepth = options.maxDepth ?? MAX_DEPTH;
  const keep = options.onError === "keep";
  const touched = new Map<string, View>();
  /** Loaded targets, by the view they are reached from and the reference's project and environment. */
  const loaded = new Map<string, Loaded>();
  const wanted = [...(names ?? root.values.keys())].filter((n) => root.values.has(n));

  const parsedOf = (view: View, name: string, raw: string): Parsed => {
    let cache = parsedCache.get(view.values);
    if (!cache) {
      cache = new Map();
      parsedCache.set(view.values, cache);
    }
    let parsed = cache.get(name);
    if (!parsed) {
      parsed = parseValue(raw);
      cache.set(name, parsed);
    }
    return parsed;
  };

  const pass = (pending: Map<string, { from: View; target: { project?: string; env: string } }>) => {
    const done = new Map<string, string>();
    const traces = new Map<string, Trace>();

    const targetOf = (from: View, ref: Reference): Loaded | typeof PENDING => {
      if (ref.env === undefined) return { view: from };
      const id = `${from.key}\u0000${ref.project ?? ""}\u0000${ref.env}`;
      const found = loaded.get(id);
      if (found) return found;
      pending.set(id, { from, target: { env: ref.env, ...(ref.project ? { project: ref.project } : {}) } });
      return PENDING;
    };

    /** The ids (view\0name) of the values being resolved, and the references followed to get here. */
    const stack: string[] = [];
    const path: string[] = [];

    /** A failing reference: thrown, or (keep) traced and left as written. */
    const problem = (
      code: ResolveErrorCode,
      key: string,
      text: string,
      at: View,
      node: TraceRef | undefined,
      target?: string,
    ): string => {
      const error = new ResolveError(code, key, text, [...path, text], describe(code, text, at, target));
      if (!keep) throw error;
      if (node) {
        node.error = code;
        node.message = error.message;
      }
      return text;
    };

    /** `key`: the root key whose value this is part of. */
    const valueAt = (view: View, name: string, key: string, trace: Trace | undefined): string => {
      const raw = view.values.get(name)!;
      if (!raw.includes("@{") || view.literal?.has(name)) return raw;
      const id = `${view.key}\u0000${name}`;
      const memo = trace ? undefined : done.get(id);
      if (memo !== undefined) return memo;
      const parsed = parsedOf(view, name, raw);
      if ("malformed" in parsed) {
        problem("MALFORMED", key, parsed.malformed, view, undefined);
        return raw;
      }
      stack.push(id);
      let out = "";
      let complete = true;
      for (const token of parsed.tokens) {
        if (typeof token === "string") {
          out += token;
          continue;
        }
        let node: TraceRef | undefined;
        if (trace) {
          node = { text: token.text, key: token.key };
          trace.references.push(node);
        }
        if (stack.length > maxDepth) {
          out += problem("DEPTH", key, token.text, view, node);
          continue;
        }
        const result = targetOf(view, token);
        if (result === PENDING) {
          complete = false;
          continue;
        }
        if (!("view" in result)) {
          const label = token.project ? `${token.project}/${token.env}` : token.env;
          const code = result.problem === "denied" ? "DENIED" : "MISSING_ENVIRONMENT";
          out += problem(code, key, token.text, view, node, label);
          continue;
        }
        const target = result.view;
        if (target !== root) touched.set(target.key, target);
        if (node) node.view = target.label;
        if (!target.values.has(token.key)) {
          out += problem("MISSING_KEY", key, token.text, view, node, target.label);
          continue;
        }
        if (stack.includes(`${target.key}\u0000${token.key}`)) {
          out += problem("CYCLE", key, token.text, view, node);
          continue;
        }
        let sub: Trace | undefined;
        if (node) {
          sub = { view: target.label, key: token.key, references: [] };
          node.trace = sub;
        }
        path.push(token.text);
        try {
          out += valueAt(target, token.key, key, sub);
        } finally {
          path.pop();
        }
      }
      stack.pop();
      if (!trace && complete) done.set(id, out);
      return out;
    };

    const values = new Map<string, string>();
    for (const name of wanted) {
      const traced: Trace | undefined = options.trace
        ? { view: root.label, key: name, references: [] }
        : undefined;
      values.set(name, valueAt(root, name, name, traced));
      if (traced) traces.set(name, traced);
    }
    return { values, traces };
  };

  for (let round = 0; ; round++) {
    const pending = new Map<string, { from: View; target: { project?: string; env: string } }>();
    const result = pass(pending);
    if (pending.size === 0) return { values: result.values, touched, traces: result.traces };
    if (round > maxDepth + 1) throw new Error("the resolver did not settle");
    const entries = [...pending];
    const answers = await Promise.all(entries.map(([, p]) => options.load(p.from, p.target)));
    entries.forEach(([id], i) => {
      loaded.set(id, answers[i]!);
    });
  }
}
