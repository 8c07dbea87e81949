/**
 * The bench's mail: generated messages of the mix, and a fast way to put a backlog into
 * the private Dovecot's maildir.
 */
import { chown, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Contacts in fixtures/directory.json whose mail opens a case (on acme-prod, or globex-main for gina). */
const FIXTURE_MEMBERS = ['bob@acme.test', 'carol@acme.test', 'erin@mail.test', 'alice@acme.test', 'gina@globex.test'];
/**
 * A customer's people are many: members' mail comes from the fixture's five and from this many
 * generated members of Acme (users of acme-prod), so no one address carries the backlog. With
 * five addresses, every per-address step (the answers ceiling's lock above all) ran one at a time.
 */
export const GENERATED_MEMBERS = 1000;
const MEMBERS = [...FIXTURE_MEMBERS, ...Array.from({ length: GENERATED_MEMBERS }, (_, k) => `member${k}@acme.test`)];

interface DirectoryJson {
  companies: Array<{ key: string; contacts: Array<Record<string, unknown>>; infrastructures: Array<{ key: string; permissions: Array<Record<string, unknown>> }> }>;
}

/** fixtures/directory.json with the generated members added to Acme, as users of acme-prod. */
export function withGeneratedMembers(directory: DirectoryJson): DirectoryJson {
  const acme = directory.companies.find((c) => c.key === 'acme')!;
  const prod = acme.infrastructures.find((i) => i.key === 'acme-prod')!;
  const generated = MEMBERS.slice(FIXTURE_MEMBERS.length);
  acme.contacts.push(...generated.map((email, k) => ({ email, name: `Member ${k}`, companyRole: 'member', status: 'active' })));
  prod.permissions.push(...generated.map((email) => ({ email, role: 'user' })));
  return directory;
}

/**
 * Strangers write from the customer's domain, so their cases are routed to acme-prod, held as
 * `unknown_sender`, and the administrators get an approval request (one per stranger; a
 * stranger's later messages join it). Each of them writes about 2.5 of the backlog's messages.
 */
export const STRANGER_COUNT = 500;

export type MessageClass = 'member' | 'stranger' | 'auto_reply';

export interface BenchMessage {
  raw: Buffer;
  class: MessageClass;
  /** Decoded attachment bytes, 0 without one. */
  attachmentBytes: number;
  messageId: string;
}

const SUPPORT = 'support@support.example.com';
/** Base64 line as mail carries it: 76 characters encode 57 bytes, plus CRLF. */
const LINE_CHARS = 76;
const LINE_BYTES = LINE_CHARS + 2;
const LINE_DATA = 57;

/**
 * Attachment bodies, cheaply: the base64 of a buffer that repeats every 16 lines' worth of
 * bytes encodes to 16 distinct lines repeated, so a body of any length is one Buffer.fill.
 */
const BLOCK = (() => {
  const data = Buffer.alloc(LINE_DATA * 16);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) % 256;
  const lines = data.toString('base64').match(new RegExp(`.{${LINE_CHARS}}`, 'g'))!;
  return Buffer.from(lines.map((l) => `${l}\r\n`).join(''));
})();

function base64Body(lines: number): Buffer {
  return Buffer.alloc(lines * LINE_BYTES, BLOCK);
}

/** Which of the classes message `i` is: 70% members, 25% strangers, 5% auto-replies. */
export function classOf(i: number): MessageClass {
  const roll = i % 100;
  return roll < 70 ? 'member' : roll < 95 ? 'stranger' : 'auto_reply';
}

/**
 * 2% carry an attachment (one member's and one stranger's message in every hundred), its decoded
 * size one of 50 steps evenly between 100 KB and 5 MB, visited in a scattered order.
 */
export function attachmentSize(i: number): number {
  const roll = i % 100;
  if (roll !== 7 && roll !== 77) return 0;
  const k = Math.floor(i / 100) * 2 + (roll === 77 ? 1 : 0);
  return 100_000 + Math.round((((k * 37) % 50) / 49) * 4_900_000);
}

function headers(from: string, subject: string, messageId: string, extra: string[] = []): string[] {
  return [`From: ${from}`, `To: ${SUPPORT}`, `Subject: ${subject}`, `Date: ${new Date().toUTCString()}`, `Message-ID: <${messageId}>`, ...extra, 'MIME-Version: 1.0'];
}

function plain(head: string[], body: string): Buffer {
  return Buffer.from([...head, 'Content-Type: text/plain; charset=utf-8', '', body, ''].join('\r\n'));
}

/** A multipart message whose attachment has `lines` base64 lines; `pad` spaces end the text part. */
function withAttachment(head: string[], text: string, lines: number, filename: string, pad = 0): Buffer {
  const before = Buffer.from(
    [
      ...head,
      'Content-Type: multipart/mixed; boundary="bench-boundary"',
      '',
      '--bench-boundary',
      'Content-Type: text/plain; charset=utf-8',
      '',
      text + ' '.repeat(pad),
      '--bench-boundary',
      `Content-Type: application/octet-stream; name="${filename}"`,
      `Content-Disposition: attachment; filename="${filename}"`,
      'Content-Transfer-Encoding: base64',
      '',
      '',
    ].join('\r\n'),
  );
  return Buffer.concat([before, base64Body(lines), Buffer.from('--bench-boundary--\r\n')]);
}

/** Message `i` of a phase ('backlog', 'steady'); its Message-ID is `<phase>-<i>@bench.test`. */
export function benchMessage(i: number, phase: string): BenchMessage {
  const messageId = `${phase}-${i}@bench.test`;
  const cls = classOf(i);
  if (cls === 'auto_reply') {
    // Three kinds an autoresponder sends: the RFC 3834 header with an out-of-office subject,
    // the header alone, and an unambiguous subject prefix alone.
    const kind = Math.floor(i / 100) % 3;
    const subject = kind === 0 ? `Out of office: ${phase} ${i}` : kind === 1 ? `Re: ${phase} ${i}` : `Automatic reply: ${phase} ${i}`;
    const extra = kind === 2 ? [] : ['Auto-Submitted: auto-replied'];
    const from = MEMBERS[i % MEMBERS.length]!;
    return { raw: plain(headers(from, subject, messageId, extra), `I am away until Monday. (${phase} ${i})`), class: cls, attachmentBytes: 0, messageId };
  }
  // Strangers are numbered in order of their messages (25 in each hundred), then wrap around.
  const from = cls === 'member' ? MEMBERS[i % MEMBERS.length]! : `stranger${(Math.floor(i / 100) * 25 + (i % 100) - 70) % STRANGER_COUNT}@acme.test`;
  const bytes = attachmentSize(i);
  const subject = `${phase} ${i}`;
  if (bytes === 0) return { raw: plain(headers(from, subject, messageId), `Something is wrong with our service (${phase} ${i}).`), class: cls, attachmentBytes: 0, messageId };
  const lines = Math.ceil(bytes / LINE_DATA);
  return { raw: withAttachment(headers(from, `${subject} with logs`, messageId), 'Logs attached.', lines, 'logs.bin'), class: cls, attachmentBytes: lines * LINE_DATA, messageId };
}

/**
 * A member's message of exactly `totalBytes` bytes (25,000,000 by default: 25 MB, under the
 * default MAX_MESSAGE_BYTES of 25 MiB, so it is an ordinary case, not `too_large`).
 */
export function largeMessage(i: number, phase: string, totalBytes: number): BenchMessage {
  const messageId = `${phase}-${i}@bench.test`;
  const head = headers(MEMBERS[0]!, `${phase} ${i} with a large dump`, messageId);
  const empty = withAttachment(head, 'Core dump attached.', 0, 'core.bin');
  const lines = Math.floor((totalBytes - empty.length) / LINE_BYTES);
  const raw = withAttachment(head, 'Core dump attached.', lines, 'core.bin', totalBytes - empty.length - lines * LINE_BYTES);
  if (raw.length !== totalBytes) throw new Error(`large message is ${raw.length} bytes, not ${totalBytes}`);
  return { raw, class: 'member', attachmentBytes: lines * LINE_DATA, messageId };
}

/**
 * Delivers messages as an MDA would: each written to Maildir/tmp and renamed into Maildir/new,
 * where Dovecot picks them up (and gives them UIDs, in file-name order) when the mailbox is next
 * opened. The file names carry the size (`,S=`) so Dovecot need not stat them for RFC822.SIZE.
 * Files are owned by the account Dovecot serves the mail as (the owner of its home).
 */
export async function deliverToMaildir(home: string, messages: Iterable<Buffer>): Promise<number> {
  const owner = await stat(home);
  const maildir = join(home, 'Maildir');
  for (const sub of ['', 'cur', 'new', 'tmp']) {
    await mkdir(join(maildir, sub), { recursive: true });
    await chown(join(maildir, sub), owner.uid, owner.gid);
  }
  const stamp = Math.floor(Date.now() / 1000);
  let n = 0;
  for (const raw of messages) {
    // Zero-padded so that name order, which Dovecot assigns UIDs by, is generation order.
    const name = `${stamp}.M${String(n).padStart(7, '0')}P${process.pid}.bench,S=${raw.length},W=${raw.length}`;
    const tmp = join(maildir, 'tmp', name);
    await writeFile(tmp, raw);
    await chown(tmp, owner.uid, owner.gid);
    await rename(tmp, join(maildir, 'new', name));
    n++;
  }
  return n;
}
