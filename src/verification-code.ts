/**
 * The verification code of `vault login --browser` (like GitHub's device
 * flow): the CLI makes it, shows it in the terminal and sends it to the
 * server in the body of its first poll (never in the URL); the approval page
 * asks the person to type it. So a link alone, sent by someone else, cannot
 * be approved by one click.
 *
 * Eight letters from twenty consonants (no vowels: no words; no 0/O or 1/I
 * to confuse): 20^8, about 2^34.6. The page allows five attempts per
 * request, then refuses it for good, and a request lives ten minutes, so a
 * guess succeeds with odds of about 2 in 10^10 per request. Shared by the
 * client and the server (pure, no imports).
 */

export const CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";
export const CODE_LENGTH = 8;
/** A normalized code, as the CLI sends it. */
export const CODE_PATTERN = `^[${CODE_ALPHABET}]{${CODE_LENGTH}}$`;
const CODE = new RegExp(CODE_PATTERN);

/** A fresh code from `random` (uniform: bytes that would bias the choice are drawn again). */
export function newVerificationCode(random: (n: number) => Uint8Array): string {
  const limit = 256 - (256 % CODE_ALPHABET.length);
  let code = "";
  while (code.length < CODE_LENGTH) {
    for (const b of random(CODE_LENGTH * 2)) {
      if (b < limit && code.length < CODE_LENGTH) code += CODE_ALPHABET[b % CODE_ALPHABET.length];
    }
  }
  return code;
}

/** As people read it: `WDJB-MJHT`. */
export function formatVerificationCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** What someone typed, normalized (case, spaces and dashes ignored); undefined when it cannot be a code. */
export function parseVerificationCode(typed: string): string | undefined {
  const code = typed.toUpperCase().replace(/[\s-]+/g, "");
  return CODE.test(code) ? code : undefined;
}
