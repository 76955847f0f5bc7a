export { DotenvError, type DotenvErrorCode } from "./errors";
export { parse } from "./scan";
