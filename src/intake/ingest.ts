import type { Logger } from 'pino';
import { addParticipants, addParticipantsMany, appendMessage, createCase, createCases, type IntakeFindings } from '../cases/repository';
import { findThread, mayContinueCase, type ThreadMatch } from '../cases/threading';
import type { Db } from '../db/connection';
import type { JobPayloads, JobSink, QueueName } from '../queue/jobs';
import { recordBounce } from '../mail/bounces';
import { senderVerified } from './auth-results';
import { parseBounce } from './bounce';
import { classify } from './classify';
import { dedupeKey, derivedMessageId, headerBlock, headerValue, isDerivedMessageId, normaliseMessageId, sha256 } from './headers';
import { parseMessage, UnreadableMessageError, type ParsedMessage } from './parse';
import { tokenFromReplyAddress } from '../approvals/tokens';
import { claimAllForCases, claimForCase, insertRaw, insertRaws, insertRawStreamed, keep, loadRaw, quarantine, type Origin, type RawInsert } from './raw-store';

export interface IntakeDeps {
  db: Db;
  jobs: JobSink;
  log: Logger;
  /** Mail to its `+approve-<token>` addresses is a reply to an approval request, never a case. */
  supportAddress: string;
  /** Secrets that sign per-case reply addresses (current, and previous during a rotation). */
  replySecrets: Array<string | null>;
  /** INBOUND_AUTHSERV_ID: whose Authentication-Results to trust; null trusts the From address. */
  inboundAuthservId: string | null;
  /** MAX_MESSAGE_BYTES: larger messages become a held `too_large` case made from their headers. */
  maxMessageBytes: number;
}

export type IntakeResult =
  | { outcome: 'case'; rawId: string; caseId: string; reference: string }
  /** A reply, added to the case it continues. */
  | { outcome: 'reply'; rawId: string; caseId: string; reference: string; via: ThreadMatch['via'] }
  | { outcome: 'quarantined'; rawId: string; error: string }
  /** Stored and never a case: an approval reply, handed to its own queue. */
  | { outcome: 'kept'; rawId: string; kind: string }
  | { outcome: 'duplicate' }
  /** Stored durably; the recovery sweep finishes it (the database failed after the raw copy). */
  | { outcome: 'stored'; rawId: string };

/**
 * Takes one raw message in, the same way for every source (mailbox, MTA pipe, development SMTP).
 * Once this resolves, the message is durably stored; it throws only if it could not be stored,
 * in which case the caller must keep the message where it is and try again.
 */
export async function takeIn(deps: IntakeDeps, raw: Buffer, origin: Origin): Promise<IntakeResult> {
  const stored = await insertRaw(deps.db, rawInsert(raw, origin));
  if (!stored) {
    deps.log.info({ source: origin.source, uid: origin.uid }, 'duplicate message ignored');
    return { outcome: 'duplicate' };
  }
  return settled(deps, stored.id, () => processRaw(deps, stored.id, raw, stored.receivedAt));
}

function rawInsert(raw: Buffer, origin: Origin): RawInsert {
  const hash = sha256(raw);
  const messageId = normaliseMessageId(headerValue(raw, 'message-id')) ?? derivedMessageId(hash);
  return { origin, dedupeKey: dedupeKey(raw, isDerivedMessageId(messageId) ? null : messageId), messageId, sha256: hash, raw };
}

/**
 * `takeIn` for a message too large to hold in memory (over MAX_MESSAGE_BYTES): streamed into
 * storage chunk by chunk, then processed from its headers. Memory stays flat whatever its size.
 */
export async function takeInStream(deps: IntakeDeps, chunks: AsyncIterable<Buffer>, origin: Origin): Promise<IntakeResult> {
  const stored = await insertRawStreamed(deps.db, origin, chunks);
  if (!stored) {
    deps.log.info({ source: origin.source, uid: origin.uid }, 'duplicate message ignored');
    return { outcome: 'duplicate' };
  }
  return settled(deps, stored.id, () => processRaw(deps, stored.id, stored.prefix, stored.receivedAt, stored.size));
}

/**
 * Takes in a message of unknown size from a stream (the MTA pipe): held in memory up to
 * MAX_MESSAGE_BYTES and taken in as usual, streamed into storage beyond that.
 */
export async function takeInFrom(deps: IntakeDeps, source: AsyncIterable<Buffer>, origin: Origin): Promise<IntakeResult> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return takeIn(deps, Buffer.concat(head), origin);
    head.push(next.value);
    size += next.value.length;
    if (size > deps.maxMessageBytes) break;
  }
  async function* everything(): AsyncGenerator<Buffer> {
    yield* head.splice(0);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return takeInStream(deps, everything(), origin);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Turns a stored raw message into a case (or quarantines it) and queues its matching. Idempotent:
 * a message already turned into a case is left alone.
 */
export async function processRaw(deps: IntakeDeps, rawId: string, raw: Buffer, receivedAt: Date, size = raw.length): Promise<IntakeResult> {
  const read = await readForCase(deps, rawId, raw, size);
  return 'outcome' in read ? read : fileMessage(deps, rawId, raw, receivedAt, read);
}

/** A person's message, parsed; `tooLarge` when only its headers were (over MAX_MESSAGE_BYTES). */
interface ReadMessage {
  parsed: ParsedMessage;
  tooLarge: boolean;
}

/** Automatic mail is kept and unreadable mail quarantined (both final); anything else is parsed. */
async function readForCase(deps: IntakeDeps, rawId: string, raw: Buffer, size: number): Promise<IntakeResult | ReadMessage> {
  const automatic = await keepIfAutomatic(deps, rawId, raw);
  if (automatic) return automatic;
  try {
    return { parsed: await parseForCase(raw, size, deps.maxMessageBytes), tooLarge: size > deps.maxMessageBytes };
  } catch (err) {
    if (!(err instanceof UnreadableMessageError)) throw err;
    return quarantineWith(deps, rawId, err.message);
  }
}

function isApprovalReply(deps: IntakeDeps, parsed: ParsedMessage): boolean {
  return parsed.recipients.some((r) => tokenFromReplyAddress(r, deps.supportAddress) !== null);
}

function replyAddresses(deps: IntakeDeps) {
  return { secrets: deps.replySecrets, supportAddress: deps.supportAddress };
}

/** What a new case or a reply records besides the message: Cc participants, intake's findings. */
function caseFacts(deps: IntakeDeps, raw: Buffer, read: ReadMessage): { participants: string[]; findings: IntakeFindings } {
  const { parsed } = read;
  const supportDomain = deps.supportAddress.split('@')[1];
  return {
    participants: parsed.cc.filter((e) => e !== parsed.fromEmail && e.split('@')[1] !== supportDomain),
    findings: {
      intakeHold: read.tooLarge ? 'too_large' : null,
      senderVerified: deps.inboundAuthservId ? senderVerified(raw, deps.inboundAuthservId, parsed.fromEmail) : null,
    },
  };
}

/** A parsed message becomes an approval reply (kept), a reply on its case, or a new case. */
async function fileMessage(deps: IntakeDeps, rawId: string, raw: Buffer, receivedAt: Date, read: ReadMessage): Promise<IntakeResult> {
  const { parsed } = read;
  if (isApprovalReply(deps, parsed)) {
    if (!(await keep(deps.db, rawId, 'approval_reply'))) return { outcome: 'duplicate' };
    await enqueueOrLeave(deps, 'approval-reply', [{ rawId }], { rawId });
    return { outcome: 'kept', rawId, kind: 'approval_reply' };
  }

  const thread = await findThread(deps.db, parsed, replyAddresses(deps));
  const { participants, findings } = caseFacts(deps, raw, read);
  let stored;
  try {
    stored = await deps.db.transaction().execute(async (tx) => {
      const c = thread ? await appendMessage(tx, thread.caseId, rawId, parsed, receivedAt, thread.via) : await createCase(tx, rawId, parsed, receivedAt, findings);
      await addParticipants(tx, c.id, participants);
      // Losing the claim means another process stored this message already: roll ours back.
      if (!(await claimForCase(tx, rawId, c.id))) throw new AlreadyProcessed();
      return c;
    });
  } catch (err) {
    if (err instanceof AlreadyProcessed) return { outcome: 'duplicate' };
    if (!isDataError(err)) throw err;
    // The database refuses this message's content: retrying cannot help, so keep it raw.
    return quarantineWith(deps, rawId, `the database refused the message: ${errorText(err)}`);
  }

  if (thread) {
    // A reply joins its case as it stands: a held case stays held, an open one open.
    deps.log.info({ case: stored.reference, rawId, via: thread.via }, 'reply added to case');
    return { outcome: 'reply', rawId, caseId: stored.id, reference: stored.reference, via: thread.via };
  }
  deps.log.info({ case: stored.reference, rawId }, 'case created');
  await enqueueOrLeave(deps, 'match', [{ caseIds: [stored.id] }], { case: stored.reference });
  return { outcome: 'case', rawId, caseId: stored.id, reference: stored.reference };
}

export interface BatchItem {
  raw: Buffer;
  origin: Origin;
}

export interface BatchOutcome {
  /** The outcome of each of the first `results.length` items, in order: those are stored. */
  results: IntakeResult[];
  /** Why the item after them could not be stored; null when all were. */
  error: unknown;
}

/**
 * `takeIn` for one fetch of messages, with the same outcomes, in a few statements: the raw copies
 * in one INSERT, and every message that plainly starts a new case (most of a busy mailbox) in one
 * transaction with one bulk job add. Automatic mail, approval replies, replies to cases and
 * anything that fails go the one-message way. Stored messages are reported even when a later
 * one could not be, so the caller acknowledges exactly those.
 */
export async function takeInBatch(deps: IntakeDeps, items: BatchItem[]): Promise<BatchOutcome> {
  let stored: Array<{ id: string; receivedAt: Date } | null>;
  try {
    // One transaction, so a batch is stored whole or not at all (its statements split by size).
    stored = await deps.db.transaction().execute((tx) => insertRaws(tx, items.map((item) => rawInsert(item.raw, item.origin))));
  } catch {
    // One statement, so nothing was stored: one at a time, the messages before a bad one still are.
    const results: IntakeResult[] = [];
    for (const item of items) {
      try {
        results.push(await takeIn(deps, item.raw, item.origin));
      } catch (err) {
        return { results, error: err };
      }
    }
    return { results, error: null };
  }

  const results: IntakeResult[] = new Array<IntakeResult>(items.length);
  const plain: Array<{ index: number; rawId: string; raw: Buffer; receivedAt: Date; read: ReadMessage }> = [];
  await Promise.all(
    items.map(async (item, index) => {
      const row = stored[index];
      if (!row) {
        deps.log.info({ source: item.origin.source, uid: item.origin.uid }, 'duplicate message ignored');
        results[index] = { outcome: 'duplicate' };
        return;
      }
      results[index] = await settled(deps, row.id, async () => {
        const read = await readForCase(deps, row.id, item.raw, item.raw.length);
        if ('outcome' in read) return read;
        if (read.tooLarge || isApprovalReply(deps, read.parsed) || mayContinueCase(read.parsed, replyAddresses(deps))) {
          return fileMessage(deps, row.id, item.raw, row.receivedAt, read);
        }
        plain.push({ index, rawId: row.id, raw: item.raw, receivedAt: row.receivedAt, read });
        return { outcome: 'stored', rawId: row.id };
      });
    }),
  );
  if (!plain.length) return { results, error: null };

  plain.sort((a, b) => a.index - b.index);
  const facts = plain.map((p) => caseFacts(deps, p.raw, p.read));
  try {
    const created = await deps.db.transaction().execute(async (tx) => {
      const cases = await createCases(tx, plain.map((p, i) => ({ rawMessageId: p.rawId, message: p.read.parsed, receivedAt: p.receivedAt, findings: facts[i]!.findings })));
      await addParticipantsMany(tx, cases.flatMap((c, i) => facts[i]!.participants.map((email) => ({ caseId: c.id, email }))));
      if (!(await claimAllForCases(tx, cases.map((c, i) => ({ rawId: plain[i]!.rawId, caseId: c.id }))))) throw new AlreadyProcessed();
      return cases;
    });
    created.forEach((c, i) => {
      const p = plain[i]!;
      deps.log.info({ case: c.reference, rawId: p.rawId }, 'case created');
      results[p.index] = { outcome: 'case', rawId: p.rawId, caseId: c.id, reference: c.reference };
    });
    // One job decides the fetch's new cases together: their look-ups are shared.
    await enqueueOrLeave(deps, 'match', [{ caseIds: created.map((c) => c.id) }], { cases: created.length });
  } catch {
    // A message the database refuses, or one another process claimed: each on its own, where
    // those cases have their answers (quarantine, duplicate).
    await Promise.all(plain.map(async (p) => (results[p.index] = await settled(deps, p.rawId, () => fileMessage(deps, p.rawId, p.raw, p.receivedAt, p.read)))));
  }
  return { results, error: null };
}

/** Processing after the raw copy is stored: a failure leaves it to the recovery sweep. */
async function settled(deps: IntakeDeps, rawId: string, work: () => Promise<IntakeResult>): Promise<IntakeResult> {
  try {
    return await work();
  } catch (err) {
    deps.log.error({ rawId, err: errorText(err) }, 'message stored but not processed; the recovery sweep will retry');
    return { outcome: 'stored', rawId };
  }
}

/**
 * Automatic mail is kept and never answered: no case, no acknowledgement, no loop. Read from the
 * raw headers, before parsing, so even a bounce the parser cannot read is classified.
 */
async function keepIfAutomatic(deps: IntakeDeps, rawId: string, raw: Buffer): Promise<IntakeResult | null> {
  const supportDomain = deps.supportAddress.split('@')[1]!;
  const classification = classify(raw, { supportDomain });
  if (classification.class === 'person') return null;
  if (!(await keep(deps.db, rawId, classification.class, classification.reason))) return { outcome: 'duplicate' };
  const bounced = classification.class === 'bounce' ? await recordBounce(deps.db, parseBounce(raw), supportDomain) : 0;
  deps.log.info({ rawId, class: classification.class, reason: classification.reason, bounced }, 'automatic mail kept');
  return { outcome: 'kept', rawId, kind: classification.class };
}

/**
 * The message as a case sees it; an oversize one from its headers alone (the stored copy keeps
 * the rest). `raw` may be only the first part of a streamed message, whose full size is `size`.
 */
async function parseForCase(raw: Buffer, size: number, maxBytes: number): Promise<ParsedMessage> {
  const tooLarge = size > maxBytes;
  const parsed = await parseMessage(tooLarge ? Buffer.concat([Buffer.from(headerBlock(raw), 'latin1'), Buffer.from('\r\n\r\n')]) : raw);
  parsed.messageId ??= derivedMessageId(sha256(raw));
  if (tooLarge) parsed.text = `(The message was ${size} bytes, over the limit of ${maxBytes}; it is kept as received.)`;
  return parsed;
}

async function quarantineWith(deps: IntakeDeps, rawId: string, reason: string): Promise<IntakeResult> {
  await quarantine(deps.db, rawId, reason);
  deps.log.warn({ rawId, reason }, 'message quarantined');
  return { outcome: 'quarantined', rawId, error: reason };
}

/** The rows are safe in PostgreSQL; if Redis is away, the recovery sweep queues the jobs later. */
async function enqueueOrLeave<N extends QueueName>(deps: IntakeDeps, name: N, data: Array<JobPayloads[N]>, logContext: Record<string, unknown>): Promise<void> {
  try {
    await deps.jobs.enqueueMany(name, data);
  } catch (err) {
    deps.log.warn({ ...logContext, queue: name, err: errorText(err) }, 'could not queue yet; the recovery sweep will');
  }
}

class AlreadyProcessed extends Error {}

/** PostgreSQL SQLSTATE class 22 (data exception): the content is at fault, not the connection. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}

/** Re-runs processing for a stored message by id (recovery sweep). */
export async function reprocessRaw(deps: IntakeDeps, rawId: string): Promise<IntakeResult | null> {
  const row = await loadRaw(deps.db, rawId);
  if (!row || row.status !== 'received') return null;
  return processRaw(deps, rawId, row.raw, row.receivedAt, row.size);
}
