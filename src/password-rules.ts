/**
 * The rules a new password must meet, in one place: the server enforces them
 * (src/server/modules/users/service.ts) and the CLI checks them as soon as a
 * new password is typed, before asking for it again. Pure, so both sides can
 * import it (the client may not import the server for more than types).
 */

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 1024;

export interface PasswordProblem {
  message: string;
  hint?: string;
}

/** Why `next` cannot be the new password (`current`: the one it replaces, when known); undefined when it can. */
export function newPasswordProblem(next: string, current?: string): PasswordProblem | undefined {
  if (next.length < PASSWORD_MIN) {
    return {
      message: `the password is shorter than ${PASSWORD_MIN} characters`,
      hint: "use a longer passphrase",
    };
  }
  if (next.length > PASSWORD_MAX) return { message: "the password is too long" };
  if (current !== undefined && next === current)
    return { message: "the new password is the same as the old one" };
  return undefined;
}
