/**
 * What becomes of a message once its raw copy is stored: automatic mail kept, unreadable mail
 * quarantined, approval replies handed on, replies added to their case, anything else a new case
 * queued for matching. Shared by every way a message comes in (ingest.ts).
 */
import type { Logger } from 'pino';
import { addParticipants, appendMessage, createCase, type IntakeFindings } from '../cases/repository';
import { findThread, replyHold, type ThreadMatch } from '../cases/threading';
import { afterCustomerMessage, replyEffect, startFollowUp } from '../cases/customer-side';
import type { Db, Tx } from '../db/connection';
import type { MessageHoldReason } from '../db/schema';
import type { JobPayloads, JobSink, QueueName } from '../queue/jobs';
import { recordBounce } from '../mail/bounces';
import { verifySender } from './auth-results';
import { parseBounce } from './bounce';
import { classify } from './classify';
import { derivedMessageId, headerBlock, sha256 } from './headers';
import { parseMessage, UnreadableMessageError, type ParsedMessage } from './parse';
import { tokenFromReplyAddress } from '../approvals/tokens';
import { claimForCase, keep, quarantine } from './raw-store';
import { errorMessage } from '../errors';

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
  /** REOPEN_WINDOW: a reply to a case resolved longer ago starts a follow-up case. */
  reopenWindowMs: number;
}

export type IntakeResult =
  /** A new case; `follows`: begun by a reply to a case closed longer than REOPEN_WINDOW ago. */
  | { outcome: 'case'; rawId: string; caseId: string; reference: string; follows?: string }
  /** A reply, added to the case it continues; with `holdReason`, held from it (nobody added, not in the portal). */
  | { outcome: 'reply'; rawId: string; caseId: string; reference: string; via: ThreadMatch['via']; holdReason: MessageHoldReason | null }
  | { outcome: 'quarantined'; rawId: string; error: string }
  /** Stored and never a case: an approval reply, handed to its own queue. */
  | { outcome: 'kept'; rawId: string; kind: string }
  | { outcome: 'duplicate' }
  /** Stored durably; the recovery sweep finishes it (the database failed after the raw copy). */
  | { outcome: 'stored'; rawId: string };

/**
 * Turns a stored raw message into a case (or quarantines it) and queues its matching. Idempotent:
 * a message already turned into a case is left alone.
 */
export async function processRaw(deps: IntakeDeps, rawId: string, raw: Buffer, receivedAt: Date, size = raw.length): Promise<IntakeResult> {
  const read = await readForCase(deps, rawId, raw, size);
  return 'outcome' in read ? read : fileMessage(deps, rawId, raw, receivedAt, read);
}

/** A person's message, parsed; `tooLarge` when only its headers were (over MAX_MESSAGE_BYTES). */
export interface ReadMessage {
  parsed: ParsedMessage;
  tooLarge: boolean;
}

/** Automatic mail is kept and unreadable mail quarantined (both final); anything else is parsed. */
export async function readForCase(deps: IntakeDeps, rawId: string, raw: Buffer, size: number): Promise<IntakeResult | ReadMessage> {
  const automatic = await keepIfAutomatic(deps, rawId, raw);
  if (automatic) return automatic;
  try {
    return { parsed: await parseForCase(raw, size, deps.maxMessageBytes), tooLarge: size > deps.maxMessageBytes };
  } catch (err) {
    if (!(err instanceof UnreadableMessageError)) throw err;
    return quarantineWith(deps, rawId, err.message);
  }
}

export function isApprovalReply(deps: IntakeDeps, parsed: ParsedMessage): boolean {
  return parsed.recipients.some((r) => tokenFromReplyAddress(r, deps.supportAddress) !== null);
}

export function replyAddresses(deps: IntakeDeps) {
  return { secrets: deps.replySecrets, supportAddress: deps.supportAddress };
}

/** What a new case or a reply records besides the message: Cc participants, intake's findings. */
export function caseFacts(deps: IntakeDeps, raw: Buffer, read: ReadMessage): { participants: string[]; findings: IntakeFindings } {
  const { parsed } = read;
  const supportDomain = deps.supportAddress.split('@')[1];
  return {
    participants: parsed.cc.filter((e) => e !== parsed.fromEmail && e.split('@')[1] !== supportDomain),
    findings: {
      intakeHold: read.tooLarge ? 'too_large' : null,
      senderVerified: deps.inboundAuthservId ? verifySender(raw, deps.inboundAuthservId, parsed.fromEmail).verified : null,
    },
  };
}

/** A parsed message becomes an approval reply (kept), a reply on its case, or a new case. */
export async function fileMessage(deps: IntakeDeps, rawId: string, raw: Buffer, receivedAt: Date, read: ReadMessage): Promise<IntakeResult> {
  const { parsed } = read;
  if (isApprovalReply(deps, parsed)) {
    if (!(await keep(deps.db, rawId, 'approval_reply'))) return { outcome: 'duplicate' };
    await enqueueOrLeave(deps, 'approval-reply', [{ rawId }], { rawId });
    return { outcome: 'kept', rawId, kind: 'approval_reply' };
  }

  const thread = await findThread(deps.db, parsed, replyAddresses(deps));
  const { participants, findings } = caseFacts(deps, raw, read);
  const hold = thread ? replyHold(findings.senderVerified ?? null) : null;
  let stored: StoredMessage;
  try {
    stored = await deps.db.transaction().execute(async (tx) => {
      const c = await storeMessage(tx, deps, rawId, parsed, receivedAt, findings, thread, hold);
      if (c.ccJoin) await addParticipants(tx, c.id, participants);
      // Losing the claim means another process stored this message already: roll ours back.
      if (!(await claimForCase(tx, rawId, c.id))) throw new AlreadyProcessed();
      return c;
    });
  } catch (err) {
    if (err instanceof AlreadyProcessed) return { outcome: 'duplicate' };
    if (!isDataError(err)) throw err;
    // The database refuses this message's content: retrying cannot help, so keep it raw.
    return quarantineWith(deps, rawId, `the database refused the message: ${errorMessage(err)}`);
  }

  if (thread && !stored.follows) {
    // A reply joins its case: a held case stays held; a pending or solved one its people answer opens again.
    if (hold) deps.log.warn({ case: stored.reference, rawId, via: thread.via, holdReason: hold }, 'reply held from its case: sender not verified');
    else deps.log.info({ case: stored.reference, rawId, via: thread.via }, 'reply added to case');
    return { outcome: 'reply', rawId, caseId: stored.id, reference: stored.reference, via: thread.via, holdReason: hold };
  }
  deps.log.info({ case: stored.reference, rawId, follows: stored.follows }, stored.follows ? 'follow-up case created' : 'case created');
  await enqueueOrLeave(deps, 'match', [{ caseIds: [stored.id] }], { case: stored.reference });
  return { outcome: 'case', rawId, caseId: stored.id, reference: stored.reference, ...(stored.follows ? { follows: stored.follows } : {}) };
}

/**
 * The message's rows: a new case; a reply held from its case; or a reply from the customer's
 * side, which may reopen its case, or, on a case resolved longer than REOPEN_WINDOW ago, start a
 * follow-up case (cases/lifecycle.ts decides).
 */
async function storeMessage(tx: Tx, deps: IntakeDeps, rawId: string, parsed: ParsedMessage, receivedAt: Date, findings: IntakeFindings, thread: ThreadMatch | null, hold: MessageHoldReason | null): Promise<StoredMessage> {
  if (!thread) return { ...(await createCase(tx, rawId, parsed, receivedAt, findings)), ccJoin: true };
  if (hold) return { ...(await appendMessage(tx, thread.caseId, rawId, parsed, receivedAt, thread.via, hold)), ccJoin: false };
  const { c, effect, itsPeople } = await replyEffect(tx, thread.caseId, parsed.fromEmail, receivedAt, deps.reopenWindowMs);
  const actor = { email: parsed.fromEmail, channel: 'mail' as const };
  if (effect.effect === 'follow_up') return { ...(await startFollowUp(tx, c, rawId, parsed, receivedAt, findings, actor)), follows: c.reference, ccJoin: true };
  const appended = await appendMessage(tx, c.id, rawId, parsed, receivedAt, thread.via);
  await afterCustomerMessage(tx, c, effect, actor);
  // Someone outside the case (a colleague the requester forwarded to) may add to it, but cannot
  // bring people in: their Cc would read every later reply and could reopen the case.
  return { ...appended, ccJoin: itsPeople };
}

interface StoredMessage {
  id: string;
  reference: string;
  /** The case of a follow-up this message started. */
  follows?: string;
  /** Whether the message's Cc become participants of its case. */
  ccJoin: boolean;
}

/** Processing after the raw copy is stored: a failure leaves it to the recovery sweep. */
export async function settled(deps: IntakeDeps, rawId: string, work: () => Promise<IntakeResult>): Promise<IntakeResult> {
  try {
    return await work();
  } catch (err) {
    deps.log.error({ rawId, err: errorMessage(err) }, 'message stored but not processed; the recovery sweep will retry');
    return { outcome: 'stored', rawId };
  }
}

/**
 * Automatic mail is kept and never answered: no case, no acknowledgement, no loop. Read from the
 * raw headers, before parsing, so even a bounce the parser cannot read is classified.
 */
async function keepIfAutomatic(deps: IntakeDeps, rawId: string, raw: Buffer): Promise<IntakeResult | null> {
  const supportDomain = deps.supportAddress.split('@')[1]!;
  const classification = classify(raw, { supportDomain, supportAddress: deps.supportAddress });
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
export async function enqueueOrLeave<N extends QueueName>(deps: IntakeDeps, name: N, data: Array<JobPayloads[N]>, logContext: Record<string, unknown>): Promise<void> {
  try {
    await deps.jobs.enqueueMany(name, data);
  } catch (err) {
    deps.log.warn({ ...logContext, queue: name, err: errorMessage(err) }, 'could not queue yet; the recovery sweep will');
  }
}

export class AlreadyProcessed extends Error {}

/** PostgreSQL SQLSTATE class 22 (data exception): the content is at fault, not the connection. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}
