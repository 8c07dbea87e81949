import { createHmac, timingSafeEqual } from 'node:crypto';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Lower-case RFC 4648 base32 without padding: survives mail servers that change an address's case. */
export function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * A truncated HMAC-SHA256 of `payload`, bound to a purpose so a signature made for one use
 * (an approval link) is never valid for another (a case's reply address).
 */
export function mac(secret: string, purpose: string, payload: string, bytes: number): string {
  return base32(createHmac('sha256', secret).update(`case-intake/${purpose}/${payload}`).digest().subarray(0, bytes));
}

/** Constant-time comparison of two strings. */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
