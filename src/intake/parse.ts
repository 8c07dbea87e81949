import { Readable } from 'node:stream';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import type { IncomingMessage } from '../cases/repository';
import { headerValue } from './headers';
import { errorMessage } from '../errors';
import { visibleText } from '../reading/visible-text';

/** What the parser makes of a raw message: what a case needs, plus what threading reads. */
export interface ParsedMessage extends IncomingMessage {
  /** Message-IDs (without brackets) this message answers: In-Reply-To first, then References, newest first. */
  answers: string[];
}

function messageIds(value: string | string[] | undefined): string[] {
  const text = Array.isArray(value) ? value.join(' ') : (value ?? '');
  return [...text.matchAll(/<([^<>\s]+)>/g)].map((m) => clean(m[1]!));
}

/** Thrown for a message that cannot become a case; the raw copy is kept with this reason. */
export class UnreadableMessageError extends Error {
  override name = 'UnreadableMessageError';
}

function addresses(field: AddressObject | AddressObject[] | undefined): Array<{ address: string; name: string }> {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  const flat: Array<{ address: string; name: string }> = [];
  const walk = (entries: AddressObject['value']): void => {
    for (const e of entries) {
      if (e.group) walk(e.group);
      else if (e.address) flat.push({ address: e.address.toLowerCase(), name: e.name });
    }
  };
  for (const obj of list) walk(obj.value);
  return flat;
}

function headerAddresses(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values.flatMap((v) => {
    const text = typeof v === 'string' ? v : typeof v === 'object' && v && 'text' in v ? String(v.text) : '';
    // Split, not matched: a regex looking for `x@y` rescans a long run without `@` from every
    // position (a 150 KB Delivered-To cost 28 s). A word is an address when an `@` sits inside it.
    return text.split(/[\s<>,;"]+/).filter((word) => word.slice(1, -1).includes('@')).map((word) => word.toLowerCase());
  });
}

// PostgreSQL text cannot hold NUL; some mailers put it in bodies (seen in real bounces).
const clean = (value: string): string => value.replaceAll('\u0000', '');
const cleanOrNull = (value: string | null | undefined): string | null => (value ? clean(value) : null);

const MAX_SUBJECT = 998; // RFC 5322's line limit: enough for any real subject
const limit = (value: string, max: number) => (value.length > max ? `${value.slice(0, max - 1)}…` : value);

/**
 * A raw 8-bit Subject that is not UTF-8 (old clients send Latin-1 bytes unencoded): decoded as
 * windows-1252 instead of showing replacement characters. Null when the header is plain ASCII,
 * valid UTF-8 or MIME-encoded, which mailparser decodes correctly.
 */
function eightBitSubject(raw: Buffer): string | null {
  const value = headerValue(raw, 'subject');
  if (value === null || !/[\x80-\xff]/.test(value) || /=\?[^?]+\?[bq]\?/i.test(value)) return null;
  const bytes = Buffer.from(value, 'latin1');
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return null;
  } catch {
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

/** Slices mailparser is fed in: views of the message, not copies. */
const SLICE_BYTES = 64 * 1024;

/**
 * mailparser on a whole message, as intake runs it (the bench's floor runs the same). The message
 * goes in as a stream of slices, as a socket would give it: handed one large Buffer, mailparser's
 * decoders turn all of it into strings at once, which cost a 25 MB message 118 MB more memory at
 * its peak; in 64 KiB slices it costs 44 MB, and a third less time. The attachments' checksums
 * are the SHA-256 we store, computed as they are decoded.
 */
export function parseMime(raw: Buffer): Promise<ParsedMail> {
  const input = raw.length <= SLICE_BYTES ? raw : Readable.from(slices(raw), { objectMode: false });
  // HTML is turned into text by visibleText, only for a message without usable text/plain.
  return simpleParser(input, { skipImageLinks: true, skipTextToHtml: true, skipHtmlToText: true, checksumAlgo: 'sha256' });
}

function* slices(raw: Buffer): Generator<Buffer> {
  for (let at = 0; at < raw.length; at += SLICE_BYTES) yield raw.subarray(at, at + SLICE_BYTES);
}

export async function parseMessage(raw: Buffer): Promise<ParsedMessage> {
  let mail;
  try {
    mail = await parseMime(raw);
  } catch (err) {
    throw new UnreadableMessageError(`the MIME parser failed: ${errorMessage(err)}`);
  }
  // Several From addresses (RFC 5322 allows it) name their author in Sender; without one, the first.
  const authors = addresses(mail.from);
  const sender = authors.length > 1 ? addresses(mail.headers.get('sender') as AddressObject | undefined)[0] : undefined;
  const from = sender ?? authors[0];
  if (!from) throw new UnreadableMessageError('the message has no sender address (From)');

  const recipients = [
    ...addresses(mail.to).map((a) => a.address),
    ...addresses(mail.cc).map((a) => a.address),
    ...headerAddresses(mail.headers.get('delivered-to')),
    ...headerAddresses(mail.headers.get('x-original-to')),
  ];
  const html = typeof mail.html === 'string' ? mail.html : null;
  const cc = addresses(mail.cc).map((a) => clean(a.address));
  return {
    answers: [...new Set([...messageIds(mail.inReplyTo), ...messageIds(mail.references).reverse()])],
    cc: [...new Set(cc)],
    messageId: mail.messageId ? clean(mail.messageId.replace(/^<|>$/g, '')) : null,
    fromEmail: clean(from.address),
    fromName: cleanOrNull(from.name),
    recipients: [...new Set(recipients.map(clean))],
    subject: limit(clean(eightBitSubject(raw) ?? mail.subject ?? '').trim() || '(no subject)', MAX_SUBJECT),
    // What a person sees: the text/plain part, or the HTML's text when that part is missing or blank.
    text: clean(visibleText({ text: mail.text ?? '', html })),
    html: cleanOrNull(html),
    sentAt: mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : null,
    attachments: mail.attachments.map((a) => ({
      filename: cleanOrNull(a.filename),
      contentType: a.contentType || 'application/octet-stream',
      size: a.content.length,
      sha256: a.checksum,
      content: a.content,
    })),
  };
}
