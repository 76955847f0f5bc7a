/**
 * The terminal UI's only import surface: `runTui` for `vault tui`, and the
 * pieces tests render with ink-testing-library. It talks to the server only
 * through src/client.
 */
export { App, type AppProps } from "./App";
export { BINDINGS, GLOBAL_BINDINGS } from "./bindings";
export { MASK } from "./model";
export { type RunTuiOptions, runTui } from "./run";
