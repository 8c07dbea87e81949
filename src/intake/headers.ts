import { createHash } from 'node:crypto';

/** Where the body starts: just after the first empty line (or the end, for a header-only message). */
export function bodyOffset(raw: Buffer): number {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  const hits = [crlf === -1 ? Infinity : crlf + 4, lf === -1 ? Infinity : lf + 2];
  const first = Math.min(...hits);
  return first === Infinity ? raw.length : first;
}

/** The header block of a raw message: everything before the first empty line. */
export function headerBlock(raw: Buffer): string {
  // Headers are 7-bit in practice (RFC 6532 allows UTF-8); latin1 never throws and keeps byte offsets.
  const limit = Math.min(raw.length, 256 * 1024);
  const text = raw.subarray(0, limit).toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  return end === -1 ? text : text.slice(0, end);
}

/** The value of the first header called `name`, unfolded, or null. */
export function headerValue(raw: Buffer, name: string): string | null {
  const unfolded = headerBlock(raw).replace(/\r?\n[ \t]+/g, ' ');
  const wanted = name.toLowerCase();
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted) return line.slice(colon + 1).trim();
  }
  return null;
}

/** `<id@host>` → `id@host`; null when the header is missing or holds no id. */
export function normaliseMessageId(value: string | null | undefined): string | null {
  if (!value) return null;
  const bracketed = /<([^<>\s]+)>/.exec(value);
  const id = (bracketed?.[1] ?? value.trim().split(/\s+/)[0] ?? '').trim();
  return id.length > 0 && id.length <= 998 ? id : null;
}

/**
 * The Message-ID of mail that has none, derived from its content: stable across deliveries, and
 * on a domain (.invalid) nobody can send from, so it never collides with a real one.
 */
export function derivedMessageId(contentHash: string): string {
  return `derived-${contentHash.slice(0, 40)}@case-intake.invalid`;
}

export function isDerivedMessageId(id: string): boolean {
  return id.endsWith('@case-intake.invalid');
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The key that makes a second delivery of the same message a no-op. A second delivery carries
 * the same Message-ID and body, while relays add trace headers (Received, Delivered-To), so the
 * key is the Message-ID with the body's hash. Two different messages that merely share a
 * Message-ID (broken mailers do that) both stay. Without a Message-ID, the whole message's hash.
 */
export function dedupeKey(raw: Buffer, messageId: string | null): string {
  return messageId ? messageDedupeKey(messageId, sha256(raw.subarray(bodyOffset(raw)))) : contentDedupeKey(sha256(raw));
}

/** The two forms of the key, for callers that hash as they stream. */
export const messageDedupeKey = (messageId: string, bodyHash: string): string => `mid:${messageId}:${bodyHash.slice(0, 32)}`;
export const contentDedupeKey = (wholeHash: string): string => `sha256:${wholeHash}`;
