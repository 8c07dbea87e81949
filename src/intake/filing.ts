/**
 * What becomes of a message once its raw copy is stored: its path decided (message-path.ts) from
 * facts gathered for one message or a whole fetch at once, then stored the way that path says.
 * Shared by every way a message comes in (ingest.ts).
 */
import type { Logger } from 'pino';
import { addParticipants, addParticipantsMany, appendMessage, createCase, createCases } from '../cases/repository';
import { findThreads, type ThreadMatch } from '../cases/threading';
import { afterCustomerMessage, replyEffect, startFollowUp } from '../cases/customer-side';
import type { Db, Tx } from '../db/connection';
import type { MessageHoldReason } from '../db/schema';
import type { JobPayloads, JobSink, QueueName } from '../queue/jobs';
import { recordBounce } from '../mail/bounces';
import { verifySender } from './auth-results';
import { parseBounce } from './bounce';
import { classify } from './classify';
import { derivedMessageId, headerBlock, sha256 } from './headers';
import { messagePath, type MessageFacts, type MessagePath, type ReadMessage } from './message-path';
import { parseMessage, UnreadableMessageError, type ParsedMessage } from './parse';
import { claimAllForCases, claimForCase, keep, quarantine } from './raw-store';
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

/** A message whose raw copy is stored; for a streamed one `raw` is its first part, `size` the whole. */
export interface StoredRaw {
  rawId: string;
  raw: Buffer;
  receivedAt: Date;
  size: number;
}

/** A message's path, with the message as parsed when the path needed it. */
export interface Decided {
  path: MessagePath;
  read?: ReadMessage;
}

/**
 * Files a stored message: its path decided and stored. Idempotent: a message already filed
 * (by another process) comes back `duplicate`.
 */
export async function fileStoredMessage(deps: IntakeDeps, message: StoredRaw): Promise<IntakeResult> {
  return fileDecided(deps, message, (await decidePaths(deps, [message]))[0]!);
}

/**
 * The path of each message, in order, with the facts the rules ask for gathered for all of them
 * together: every message classified, the people's messages parsed side by side, their threads
 * looked up in a few statements. A message whose facts could not be gathered gets its error.
 */
export async function decidePaths(deps: IntakeDeps, messages: StoredRaw[]): Promise<Array<Decided | { error: unknown }>> {
  const supportDomain = deps.supportAddress.split('@')[1]!;
  const decided: Array<Decided | { error: unknown } | undefined> = messages.map(() => undefined);
  const facts = messages.map((m, i): MessageFacts => {
    try {
      return { classification: classify(m.raw, { supportDomain, supportAddress: deps.supportAddress }) };
    } catch (error) {
      decided[i] = { error };
      return { classification: { class: 'person', reason: '' } };
    }
  });
  for (;;) {
    const toParse: number[] = [];
    const toThread: number[] = [];
    facts.forEach((f, i) => {
      if (decided[i]) return;
      const step = messagePath(f, deps.supportAddress);
      if ('path' in step) decided[i] = { path: step, ...(f.read && !('unreadable' in f.read) ? { read: f.read } : {}) };
      else (step.needs === 'parse' ? toParse : toThread).push(i);
    });
    if (!toParse.length && !toThread.length) return decided as Array<Decided | { error: unknown }>;
    await Promise.all(
      toParse.map(async (i) => {
        try {
          facts[i]!.read = await readMessage(deps, messages[i]!);
        } catch (error) {
          decided[i] = { error };
        }
      }),
    );
    if (!toThread.length) continue;
    try {
      const threads = await findThreads(deps.db, toThread.map((i) => (facts[i]!.read as ReadMessage).parsed), { secrets: deps.replySecrets, supportAddress: deps.supportAddress });
      toThread.forEach((i, k) => (facts[i]!.thread = threads[k]!));
    } catch (error) {
      for (const i of toThread) decided[i] = { error };
    }
  }
}

/** Stores one message the way its path says; throws the error that kept its path from being decided. */
export async function fileDecided(deps: IntakeDeps, m: StoredRaw, decided: Decided | { error: unknown }): Promise<IntakeResult> {
  if ('error' in decided) throw decided.error;
  const { path, read } = decided;
  const { rawId } = m;
  switch (path.path) {
    case 'automatic': {
      // Kept and never answered: no case, no acknowledgement, no loop.
      if (!(await keep(deps.db, rawId, path.kind, path.reason))) return { outcome: 'duplicate' };
      const bounced = path.kind === 'bounce' ? await recordBounce(deps.db, parseBounce(m.raw), deps.supportAddress.split('@')[1]!) : 0;
      deps.log.info({ rawId, class: path.kind, reason: path.reason, bounced }, 'automatic mail kept');
      return { outcome: 'kept', rawId, kind: path.kind };
    }
    case 'quarantine':
      return quarantineWith(deps, rawId, path.reason);
    case 'approval_reply':
      if (!(await keep(deps.db, rawId, 'approval_reply'))) return { outcome: 'duplicate' };
      await enqueueOrLeaveForSweep(deps, 'approval-reply', [{ rawId }], { rawId });
      return { outcome: 'kept', rawId, kind: 'approval_reply' };
    case 'reply':
    case 'new_case':
      return fileCaseMessage(deps, m, path, read!);
  }
}

/** A reply on its case, or a new case, in one transaction with the claim of its raw copy. */
async function fileCaseMessage(deps: IntakeDeps, m: StoredRaw, path: Extract<MessagePath, { path: 'reply' | 'new_case' }>, read: ReadMessage): Promise<IntakeResult> {
  const { rawId } = m;
  let stored: StoredMessage;
  try {
    stored = await deps.db.transaction().execute(async (tx) => {
      const c = await storeMessage(tx, deps, m, read, path);
      if (c.ccJoin) await addParticipants(tx, c.id, read.participants);
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

  if (path.path === 'reply' && !stored.follows) {
    // A reply joins its case: a held case stays held; a pending or solved one its people answer opens again.
    const { via } = path.thread;
    if (path.hold) deps.log.warn({ case: stored.reference, rawId, via, holdReason: path.hold }, 'reply held from its case: sender not verified');
    else deps.log.info({ case: stored.reference, rawId, via }, 'reply added to case');
    return { outcome: 'reply', rawId, caseId: stored.id, reference: stored.reference, via, holdReason: path.hold };
  }
  deps.log.info({ case: stored.reference, rawId, follows: stored.follows }, stored.follows ? 'follow-up case created' : 'case created');
  await enqueueOrLeaveForSweep(deps, 'match', [{ caseIds: [stored.id] }], { case: stored.reference });
  return { outcome: 'case', rawId, caseId: stored.id, reference: stored.reference, ...(stored.follows ? { follows: stored.follows } : {}) };
}

/**
 * The message's rows: a new case; a reply held from its case; or a reply from the customer's
 * side, which may reopen its case, or, on a case resolved longer than REOPEN_WINDOW ago, start a
 * follow-up case (cases/lifecycle.ts decides).
 */
async function storeMessage(tx: Tx, deps: IntakeDeps, m: StoredRaw, read: ReadMessage, path: Extract<MessagePath, { path: 'reply' | 'new_case' }>): Promise<StoredMessage> {
  const { parsed, findings } = read;
  if (path.path === 'new_case') return { ...(await createCase(tx, m.rawId, parsed, m.receivedAt, findings)), ccJoin: true };
  const { thread, hold } = path;
  if (hold) return { ...(await appendMessage(tx, thread.caseId, m.rawId, parsed, m.receivedAt, thread.via, hold)), ccJoin: false };
  const { c, effect, itsPeople } = await replyEffect(tx, thread.caseId, parsed.fromEmail, m.receivedAt, deps.reopenWindowMs);
  const actor = { email: parsed.fromEmail, channel: 'mail' as const };
  if (effect.effect === 'follow_up') return { ...(await startFollowUp(tx, c, m.rawId, parsed, m.receivedAt, findings, actor)), follows: c.reference, ccJoin: true };
  const appended = await appendMessage(tx, c.id, m.rawId, parsed, m.receivedAt, thread.via);
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

/**
 * A fetch's new cases in one transaction and one job that matches them together (their look-ups
 * are shared). Should the transaction fail (a message the database refuses, one another process
 * claimed), each goes on its own, where those have their answers (quarantine, duplicate).
 */
export async function fileNewCases(deps: IntakeDeps, messages: Array<StoredRaw & { read: ReadMessage }>): Promise<IntakeResult[]> {
  if (!messages.length) return [];
  let created: Array<{ id: string; reference: string }>;
  try {
    created = await deps.db.transaction().execute(async (tx) => {
      const cases = await createCases(tx, messages.map((m) => ({ rawMessageId: m.rawId, message: m.read.parsed, receivedAt: m.receivedAt, findings: m.read.findings })));
      await addParticipantsMany(tx, cases.flatMap((c, i) => messages[i]!.read.participants.map((email) => ({ caseId: c.id, email }))));
      if (!(await claimAllForCases(tx, cases.map((c, i) => ({ rawId: messages[i]!.rawId, caseId: c.id }))))) throw new AlreadyProcessed();
      return cases;
    });
  } catch {
    const newCase: MessagePath = { path: 'new_case' };
    return Promise.all(messages.map((m) => leaveForSweepOnError(deps, m.rawId, () => fileDecided(deps, m, { path: newCase, read: m.read }))));
  }
  await enqueueOrLeaveForSweep(deps, 'match', [{ caseIds: created.map((c) => c.id) }], { cases: created.length });
  return created.map((c, i) => {
    deps.log.info({ case: c.reference, rawId: messages[i]!.rawId }, 'case created');
    return { outcome: 'case', rawId: messages[i]!.rawId, caseId: c.id, reference: c.reference };
  });
}

/** Runs what follows the raw copy's storage; should it fail, the message is left to the recovery sweep. */
export async function leaveForSweepOnError(deps: IntakeDeps, rawId: string, work: () => Promise<IntakeResult>): Promise<IntakeResult> {
  try {
    return await work();
  } catch (err) {
    deps.log.error({ rawId, err: errorMessage(err) }, 'message stored but not processed; the recovery sweep will retry');
    return { outcome: 'stored', rawId };
  }
}

/** The message parsed for a case; unreadable mail is a fact for the rules, not an error. */
async function readMessage(deps: IntakeDeps, m: StoredRaw): Promise<ReadMessage | { unreadable: string }> {
  let parsed: ParsedMessage;
  try {
    parsed = await parseForCase(m.raw, m.size, deps.maxMessageBytes);
  } catch (err) {
    if (!(err instanceof UnreadableMessageError)) throw err;
    return { unreadable: err.message };
  }
  const supportDomain = deps.supportAddress.split('@')[1];
  return {
    parsed,
    participants: parsed.cc.filter((e) => e !== parsed.fromEmail && e.split('@')[1] !== supportDomain),
    findings: {
      intakeHold: m.size > deps.maxMessageBytes ? 'too_large' : null,
      senderVerified: deps.inboundAuthservId ? verifySender(m.raw, deps.inboundAuthservId, parsed.fromEmail).verified : null,
    },
  };
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
export async function enqueueOrLeaveForSweep<N extends QueueName>(deps: IntakeDeps, name: N, data: Array<JobPayloads[N]>, logContext: Record<string, unknown>): Promise<void> {
  try {
    await deps.jobs.enqueueMany(name, data);
  } catch (err) {
    deps.log.warn({ ...logContext, queue: name, err: errorMessage(err) }, 'could not queue yet; the recovery sweep will');
  }
}

class AlreadyProcessed extends Error {}

/** PostgreSQL SQLSTATE class 22 (data exception): the content is at fault, not the connection. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('22');
}
