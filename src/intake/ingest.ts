import { addParticipantsMany, createCases } from '../cases/repository';
import { mayContinueCase } from '../cases/threading';
import { dedupeKey, derivedMessageId, headerValue, isDerivedMessageId, normaliseMessageId, sha256 } from './headers';
import { AlreadyProcessed, caseFacts, enqueueOrLeave, fileMessage, isApprovalReply, processRaw, readForCase, replyAddresses, settled, type IntakeDeps, type IntakeResult, type ReadMessage } from './filing';
import { claimAllForCases, insertRaw, insertRaws, insertRawStreamed, loadRaw, type Origin, type RawInsert } from './raw-store';

/**
 * Takes one raw message in, the same way for every source (mailbox, MTA pipe, development SMTP).
 * Once this resolves, the message is durably stored; it throws only if it could not be stored,
 * in which case the caller must keep the message where it is and try again.
 */
export async function takeIn(deps: IntakeDeps, raw: Buffer, origin: Origin): Promise<IntakeResult> {
  const stored = await insertRaw(deps.db, rawInsert(raw, origin));
  if (!stored) return ignoredDuplicate(deps, origin);
  return settled(deps, stored.id, () => processRaw(deps, stored.id, raw, stored.receivedAt));
}

/** A message already stored (a second delivery, or a fetch repeated after a crash). */
function ignoredDuplicate(deps: IntakeDeps, origin: Origin): IntakeResult {
  deps.log.info({ source: origin.source, uid: origin.uid }, 'duplicate message ignored');
  return { outcome: 'duplicate' };
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
  if (!stored) return ignoredDuplicate(deps, origin);
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
    // One transaction, so nothing was stored: one at a time, the messages before a bad one still are.
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
        results[index] = ignoredDuplicate(deps, item.origin);
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

/** Re-runs processing for a stored message by id (recovery sweep). */
export async function reprocessRaw(deps: IntakeDeps, rawId: string): Promise<IntakeResult | null> {
  const row = await loadRaw(deps.db, rawId);
  if (!row || row.status !== 'received') return null;
  return processRaw(deps, rawId, row.raw, row.receivedAt, row.size);
}
