import { parseFields, type HeaderFields } from './classify';

// A small, bounded MIME walker over raw text (one char a byte), for reports mailparser reads
// poorly (message/delivery-status, text/rfc822-headers). Never throws on malformed input.

const MAX_PARTS = 200;

export interface Part {
  headers: HeaderFields;
  /** Undecoded body, one char a byte (latin1), so that base64 and charsets can still be applied. */
  body: string;
}

export function splitPart(text: string): Part {
  // A part without headers starts with its empty line.
  const blank = /^\r?\n/.exec(text) ?? /\r?\n\r?\n/.exec(text);
  if (!blank) return { headers: parseFields(text), body: '' };
  return { headers: parseFields(text.slice(0, blank.index)), body: text.slice(blank.index + blank[0].length) };
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = new RegExp(`(?:^|\\r?\\n)--${escapeRegExp(boundary)}(--)?[ \\t]*(?=\\r?\\n|$)`, 'g');
  const parts: string[] = [];
  let start = -1;
  for (const m of body.matchAll(delimiter)) {
    if (start >= 0) parts.push(body.slice(start, m.index).replace(/^\r?\n/, ''));
    if (m[1] || parts.length >= MAX_PARTS) return parts;
    start = m.index + m[0].length;
  }
  if (start >= 0) parts.push(body.slice(start).replace(/^\r?\n/, '')); // no closing delimiter (or cut off)
  return parts;
}

export function decodeTransfer(part: Part): Buffer {
  const cte = part.headers.get('content-transfer-encoding')?.[0]?.trim().toLowerCase() ?? '';
  if (cte === 'base64') return Buffer.from(part.body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (cte === 'quoted-printable') {
    return Buffer.from(part.body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  }
  return Buffer.from(part.body, 'latin1');
}

export function partText(part: Part, charset: string | undefined): string {
  const bytes = decodeTransfer(part);
  try {
    return new TextDecoder(charset?.trim() || 'utf-8').decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}
