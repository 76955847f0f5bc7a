/**
 * One function maps errors to exit codes: each boundary's error says its own
 * (the client's from the API's codes, the keeper's, the data directory's,
 * the configuration's), and nothing is matched by its name.
 */
import { describe, expect, it } from "bun:test";
import { CliError } from "../src/cli-kit";
import { ClientError, ExportError, RefError } from "../src/client";
import { ConfigError } from "../src/config";
import { DatabaseError, KeyFileError } from "../src/db";
import { DotenvError } from "../src/dotenv";
import { EXIT, type ExitCode, exitCodeOf } from "../src/exit-codes";
import { ApiError, fromKeeperError, ListenError } from "../src/server";
import { KeeperError, keeperErrorCode } from "../src/vault";

describe("exitCodeOf", () => {
  it("gives each boundary's errors the exit code of the README's table", () => {
    const cases: [unknown, ExitCode | undefined][] = [
      [new CliError("x", EXIT.conflict), EXIT.conflict],
      [new ConfigError("bad --listen"), EXIT.usage],
      [new KeeperError("WRONG_ROOT_KEY", "x"), EXIT.server],
      [new DatabaseError("WRONG_KEY", "x"), EXIT.server],
      [new KeyFileError("PERMISSIONS", "x"), EXIT.server],
      [new ListenError("x", "hint"), EXIT.server],
      [new ClientError("NOT_FOUND", "x"), EXIT.notFound],
      [new ClientError("FORBIDDEN", "x"), EXIT.auth],
      [new ClientError("VERSION_CONFLICT", "x"), EXIT.conflict],
      [new ClientError("INVALID_REQUEST", "x"), EXIT.usage],
      [new ClientError("NETWORK", "x"), EXIT.network],
      [new ClientError("INTERNAL", "x"), EXIT.server],
      [new RefError("x"), EXIT.usage],
      [new ExportError("x"), EXIT.failure],
      [new DotenvError("MISSING_DATA", "x"), EXIT.failure],
      [new Error("x"), undefined],
      [null, undefined],
      ["a string", undefined],
    ];
    for (const [error, code] of cases)
      expect([String(error), exitCodeOf(error)]).toEqual([String(error), code]);
  });

  it("does not go by an error's name: an Error named KeeperError is not the keeper's", () => {
    const impostor = Object.assign(new Error("x"), { name: "KeeperError", code: "UNREACHABLE" });
    expect(exitCodeOf(impostor)).toBeUndefined();
    expect(fromKeeperError(impostor)).toBeUndefined();
  });
});

describe("the keeper's errors at the API", () => {
  it("a keeper out of reach, or answering off-protocol, is a 503 to retry; other keeper failures are not in the table", () => {
    for (const code of ["UNREACHABLE", "BAD_RESPONSE"] as const) {
      const answer = fromKeeperError(new KeeperError(code, "x"));
      expect(answer).toBeInstanceOf(ApiError);
      expect([answer!.code, answer!.status, answer!.headers?.["retry-after"]]).toEqual([
        "KEEPER_UNAVAILABLE",
        503,
        "2",
      ]);
    }
    expect(fromKeeperError(new KeeperError("INTEGRITY", "x"))).toBeUndefined();
  });

  it("a code from the socket that the keeper does not define becomes BAD_RESPONSE, not a cast", () => {
    expect(keeperErrorCode("TOO_LARGE")).toBe("TOO_LARGE");
    expect(keeperErrorCode("NOT_FOUND")).toBe("NOT_FOUND");
    expect(keeperErrorCode("DROP TABLE")).toBe("BAD_RESPONSE");
    expect(keeperErrorCode(42)).toBe("BAD_RESPONSE");
  });
});
