/**
 * The new-password rules live in one place (src/password-rules.ts): the CLI
 * checks them as soon as a new password is typed, and the server enforces
 * the same ones.
 */
import { describe, expect, it } from "bun:test";
import { chooseNewPassword } from "../../src/client/commands/auth";
import { newPasswordProblem, PASSWORD_MAX, PASSWORD_MIN } from "../../src/password-rules";
import { checkPassword } from "../../src/server/modules/users/service";

/** A scripted person at the prompt: the questions asked, the lines said, in order. */
function scripted(answers: string[]) {
  const asked: string[] = [];
  const said: string[] = [];
  return {
    asked,
    said,
    ask: async (question: string) => {
      asked.push(question);
      const answer = answers.shift();
      if (answer === undefined) throw new Error(`no answer left for ${JSON.stringify(question)}`);
      return answer;
    },
    say: (line: string) => {
      said.push(line);
    },
  };
}

describe("new-password rules", () => {
  it("the CLI refuses a too-short new password right after the first entry, before asking for it again", async () => {
    const person = scripted(["short", "a long enough passphrase", "a long enough passphrase"]);
    expect(await chooseNewPassword(person.ask, person.say)).toBe("a long enough passphrase");
    expect(person.asked).toEqual(["New password: ", "New password: ", "New password again: "]);
    expect(person.said).toEqual([
      `the password is shorter than ${PASSWORD_MIN} characters (use a longer passphrase); again`,
    ]);
  });

  it("the CLI refuses the password it replaces at the first entry", async () => {
    const person = scripted(["the one-time pw", "a fresh passphrase!", "a fresh passphrase!"]);
    expect(await chooseNewPassword(person.ask, person.say, "the one-time pw")).toBe("a fresh passphrase!");
    expect(person.asked).toEqual(["New password: ", "New password: ", "New password again: "]);
    expect(person.said).toEqual(["the new password is the same as the old one; again"]);
  });

  it("still asks twice and starts over when the two entries differ", async () => {
    const person = scripted([
      "first long passphrase",
      "second long passphrase",
      "ok long passphrase",
      "ok long passphrase",
    ]);
    expect(await chooseNewPassword(person.ask, person.say)).toBe("ok long passphrase");
    expect(person.said).toEqual(["the two did not match; again"]);
  });

  it("the CLI and the server accept and refuse the same passwords", () => {
    const current = "the current password";
    const candidates = [
      "",
      "x".repeat(PASSWORD_MIN - 1),
      "x".repeat(PASSWORD_MIN),
      "x".repeat(PASSWORD_MAX),
      "x".repeat(PASSWORD_MAX + 1),
      current,
      "日本語のパスワードです", // 11 UTF-16 units
      "日本語のパスワードですね",
    ];
    for (const candidate of candidates) {
      const client = newPasswordProblem(candidate, current)?.message ?? "ok";
      let server = "ok";
      try {
        checkPassword(candidate, current);
      } catch (error) {
        server = (error as Error).message;
      }
      expect({ length: candidate.length, client }).toEqual({ length: candidate.length, client: server });
    }
    expect(newPasswordProblem("x".repeat(PASSWORD_MIN - 1))).toBeDefined();
    expect(newPasswordProblem("x".repeat(PASSWORD_MIN))).toBeUndefined();
  });
});
