/** The layers module's front door: the reference syntax and the one resolver. */
export { mayReference, parseValue, type Reference, referencesOf, type Token } from "./references";
export {
  type Load,
  type Loaded,
  MAX_DEPTH,
  type Resolved,
  ResolveError,
  type ResolveErrorCode,
  type ResolveOptions,
  resolve,
  type Trace,
  type TraceRef,
  type View,
} from "./resolver";
