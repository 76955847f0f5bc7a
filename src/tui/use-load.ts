import { useCallback, useEffect, useRef, useState } from "react";
import { useTui } from "./context";

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** An answer (data or an error) has arrived at least once: keys can act on what is shown. */
  ready: boolean;
  reload(): void;
}

/** Runs `load` on mount, on reload() and when the server comes back; the latest answer wins. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const tui = useTui();
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [nonce, setNonce] = useState(0);
  const seq = useRef(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's deps decide when to load again.
  useEffect(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => {
        if (mine === seq.current) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (mine !== seq.current) return;
        tui.report(error);
        setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
  }, [...deps, nonce, tui.reloadToken]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const ready = !state.loading || state.data !== undefined || state.error !== undefined;
  return { ...state, ready, reload };
}

/**
 * Counts the times a screen comes back on top (the screen above it closed):
 * as a dependency of useLoad, it reloads what may have moved meanwhile.
 */
export function useReturns(onTop: boolean): number {
  const [returns, setReturns] = useState(0);
  const was = useRef(onTop);
  useEffect(() => {
    if (onTop && !was.current) setReturns((n) => n + 1);
    was.current = onTop;
  }, [onTop]);
  return returns;
}
