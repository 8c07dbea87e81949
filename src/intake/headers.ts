import { createHash } from 'node:crypto';

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

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The key that makes a second delivery of the same message a no-op: its Message-ID, or its
 * content hash when it has none (a resent copy without Message-ID is byte-identical anyway).
 */
export function dedupeKey(messageId: string | null, hash: string): string {
  return messageId ? `mid:${messageId}` : `sha256:${hash}`;
}
