/**
 * Keys, one at a time and in the order they were typed.
 *
 * Ink hands `useInput` whatever one read of the terminal held: a held key
 * (`jjjj`), fast typing over a slow SSH link or a paste arrives as one
 * string, and events emitted in one tick all see the same render, so a
 * handler that compares `input === "j"` or moves a cursor from its state
 * loses keys. The router is the only `useInput`: it splits what arrives into
 * single key presses, queues them, and hands out the next one only after the
 * render of the previous one is committed, so every handler sees the state
 * the key before it left (a key that opens a screen is followed by keys for
 * that screen). A key that finds nothing in flight is handled at once, in
 * Ink's input event, so a single keystroke costs what it did without the queue.
 *
 * A listener that cannot take a key yet (a screen whose data has not
 * arrived) holds it: the key waits at the head of the queue, it is not lost,
 * and is handed out when the listener is ready. A text field takes a run of
 * printable characters whole rather than one render per character. Pasted
 * text (bracketed paste) goes only to a text field: in a table it is not a
 * string of commands.
 */
import { type Key, useInput, usePaste } from "ink";
import {
  createContext,
  type ReactNode,
  useContext,
  useEffect,
  useId,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from "react";

export type { Key };

export interface KeyPress {
  input: string;
  key: Key;
  /** Printable characters that arrived together: one key each, unless a text field takes them whole. */
  run?: boolean;
  /** Text the terminal marked as pasted. */
  paste?: boolean;
}

export type KeyHandler = (input: string, key: Key) => void;

export interface KeyOptions {
  /** Takes runs of printable characters and pastes whole (a text field). */
  text?: boolean;
  /** True while this key must wait (the listener is not ready for it). */
  hold?: (input: string, key: Key) => boolean;
}

interface Listener extends KeyOptions {
  handler: KeyHandler;
}

interface Router {
  listeners: Map<string, { current: Listener }>;
  queue: KeyPress[];
  /** Asks for a look at the queue after the next commit; the tick that commit will carry. */
  kick(): number;
}

const KeyRouterContext = createContext<Router | null>(null);

export function blankKey(): Key {
  return {
    upArrow: false,
    downArrow: false,
    leftArrow: false,
    rightArrow: false,
    pageDown: false,
    pageUp: false,
    home: false,
    end: false,
    return: false,
    escape: false,
    ctrl: false,
    shift: false,
    tab: false,
    backspace: false,
    delete: false,
    meta: false,
    super: false,
    hyper: false,
    capsLock: false,
    numLock: false,
  };
}

/** One printable character as Ink would describe it alone (an upper-case letter has shift). */
function charKey(ch: string): KeyPress {
  return { input: ch, key: { ...blankKey(), shift: /^[A-Z]$/.test(ch) } };
}

/** A control character inside a run, as Ink would describe it alone. */
function controlKey(ch: string): KeyPress {
  const code = ch.codePointAt(0)!;
  const key = blankKey();
  if (ch === "\r" || ch === "\n") return { input: "\r", key: { ...key, return: true } };
  if (ch === "\t") return { input: "", key: { ...key, tab: true } };
  if (ch === "\u007f" || ch === "\b") return { input: "", key: { ...key, backspace: true } };
  if (code === 0) return { input: " ", key: { ...key, ctrl: true } };
  return { input: String.fromCharCode(code + (code <= 26 ? 96 : 64)), key: { ...key, ctrl: true } };
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * What one Ink input event holds, as key presses: a single key stays as it
 * is; several characters become runs of printable text and the control
 * characters (Enter, Tab, Ctrl-D...) between them, each its own key.
 */
export function splitInput(input: string, key: Key): KeyPress[] {
  if ([...input].length <= 1) return [{ input, key }];
  const out: KeyPress[] = [];
  let run = "";
  for (const ch of input) {
    if (CONTROL.test(ch)) {
      if (run) out.push({ input: run, key: blankKey(), run: true });
      run = "";
      out.push(controlKey(ch));
    } else run += ch;
  }
  if (run) out.push([...run].length === 1 ? charKey(run) : { input: run, key: blankKey(), run: true });
  return out;
}

/**
 * The one place input is read. `onIdle` is called each time every key typed
 * so far has been handled and its frame committed (tests wait on it instead
 * of sleeping).
 */
export function KeyRouter(props: { children: ReactNode; onIdle?: () => void }): ReactNode {
  const [tick, setTick] = useState(0);
  const ticks = useRef(0);
  const router = useMemo<Router>(
    () => ({
      listeners: new Map(),
      queue: [],
      kick: () => {
        setTick(++ticks.current);
        return ticks.current;
      },
    }),
    [],
  );
  const onIdle = useRef(props.onIdle);
  onIdle.current = props.onIdle;
  /** A key was handed out since the last idle. */
  const handled = useRef(false);
  /** A key was handed out and the commit after it has not run its effects yet. */
  const inFlight = useRef(false);
  /** The tick of that commit: an effect of an earlier commit may still be pending. */
  const drawnAt = useRef(0);
  /** A handler is running (Ink's legacy root renders each setState at once, effects included). */
  const handing = useRef(false);

  /** Hands the head of the queue to the listeners, if they can take it; whether one was handed out. */
  const step = (): boolean => {
    const { queue } = router;
    const listeners = [...router.listeners.values()].map((l) => l.current);
    // Nobody listens while a screen is being replaced: its successor kicks when it registers.
    if (queue.length === 0 || listeners.length === 0) return false;
    const text = listeners.some((l) => l.text);
    const head = queue[0]!;
    if (head.paste && !text) {
      queue.shift();
      return true;
    }
    let next = head;
    let rest: KeyPress | undefined;
    if (head.run && !text) {
      const [first, ...others] = [...head.input];
      next = charKey(first!);
      rest = others.length === 1 ? charKey(others[0]!) : { ...head, input: others.join("") };
    }
    if (listeners.some((l) => l.hold?.(next.input, next.key))) return false;
    if (rest) queue[0] = rest;
    else queue.shift();
    handing.current = true;
    try {
      for (const l of listeners) l.handler(next.input, next.key);
    } finally {
      handing.current = false;
    }
    return true;
  };
  const handOut = () => {
    if (!step()) return;
    handled.current = true;
    inFlight.current = true;
    drawnAt.current = router.kick();
  };

  useInput((input, key) => {
    router.queue.push(...splitInput(input, key));
    // Nothing in flight: the first key is handled at once, as Ink delivered it (no added latency).
    if (!inFlight.current) handOut();
    router.kick();
  });
  usePaste((text) => {
    router.queue.push({ input: text, key: blankKey(), paste: true });
    if (!inFlight.current) handOut();
    router.kick();
  });

  // After each commit: the key in flight is drawn; the next one may go.
  // biome-ignore lint/correctness/useExhaustiveDependencies: each tick is one look at the queue.
  useEffect(() => {
    // Effects run inside a handler (a setState rendered at once): the key is not drawn yet; its
    // hand-out kicks again when the handler returns.
    if (handing.current || tick < drawnAt.current) return;
    inFlight.current = false;
    if (router.queue.length > 0) return handOut();
    // The render after the last key's: what it did is drawn.
    if (handled.current) {
      handled.current = false;
      onIdle.current?.();
    }
  }, [tick, router]);

  return <KeyRouterContext.Provider value={router}>{props.children}</KeyRouterContext.Provider>;
}

/**
 * Receives keys through the router while `active`. The handler and options
 * of the latest render are used, so a handler always sees current state.
 */
export function useKeys(active: boolean, handler: KeyHandler, options: KeyOptions = {}): void {
  const router = useContext(KeyRouterContext);
  if (!router) throw new Error("useKeys outside <KeyRouter>");
  const id = useId();
  const latest = useRef<Listener>({ handler, ...options });
  useLayoutEffect(() => {
    latest.current = { handler, ...options };
  });
  useEffect(() => {
    if (!active) return;
    router.listeners.set(id, latest);
    router.kick();
    return () => {
      router.listeners.delete(id);
    };
  }, [active, router, id]);
  // A held key may be taken now that this listener has rendered again (its data arrived).
  useEffect(() => {
    if (active && router.queue.length > 0) router.kick();
  });
}
