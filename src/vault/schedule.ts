/**
 * The rotation schedule: the next rotation is drawn with the CSPRNG, uniformly
 * inside [last rotation + rotateMin, last rotation + rotateMax]. It is kept
 * only inside the sealed keyring (keyring.ts) and never served or logged.
 */
import type { Random } from "./envelope";
import { KeeperError } from "./errors";

export interface RotationWindow {
  rotateMinMs: number;
  rotateMaxMs: number;
}

export interface Schedule {
  lastRotationAt: number;
  nextRotationAt: number;
}

/**
 * A uniform draw in [min, max] (whole milliseconds, ends included), by
 * rejection sampling over 48 random bits so that no instant is favoured.
 */
export function drawUniform(min: number, max: number, random: Random): number {
  const span = max - min + 1;
  if (!Number.isSafeInteger(span) || span < 1 || span > 2 ** 48) {
    throw new KeeperError("INTERNAL", "the rotation window is not a usable range");
  }
  const limit = Math.floor(2 ** 48 / span) * span;
  for (;;) {
    const b = random(6);
    const x = ((((b[0]! * 256 + b[1]!) * 256 + b[2]!) * 256 + b[3]!) * 256 + b[4]!) * 256 + b[5]!;
    if (x < limit) return min + (x % span);
  }
}

/** The schedule after a rotation at `from`. */
export function drawSchedule(from: number, window: RotationWindow, random: Random): Schedule {
  const next = drawUniform(from + window.rotateMinMs, from + window.rotateMaxMs, random);
  return { lastRotationAt: from, nextRotationAt: next };
}
