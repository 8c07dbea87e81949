import { dedupeKey, derivedMessageId, headerValue, isDerivedMessageId, normaliseMessageId, sha256 } from './headers';
import { decidePaths, fileDecided, fileNewCases, fileStoredMessage, leaveForSweepOnError, type Decided, type IntakeDeps, type IntakeResult, type StoredRaw } from './filing';
import { insertRaw, insertRaws, insertRawStreamed, loadRaw, type Origin, type RawInsert } from './raw-store';

/**
 * Takes one raw message in, the same way for every source (mailbox, MTA pipe, development SMTP).
 * Once this resolves, the message is durably stored; it throws only if it could not be stored,
 * in which case the caller must keep the message where it is and try again.
 */
export async function fileRawMessage(deps: IntakeDeps, raw: Buffer, origin: Origin): Promise<IntakeResult> {
  const stored = await insertRaw(deps.db, rawInsert(raw, origin));
  if (!stored) return ignoredDuplicate(deps, origin);
  return leaveForSweepOnError(deps, stored.id, () => fileStoredMessage(deps, { rawId: stored.id, raw, receivedAt: stored.receivedAt, size: raw.length }));
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
 * `fileRawMessage` for a message too large to hold in memory (over MAX_MESSAGE_BYTES): streamed
 * into storage chunk by chunk, then filed from its headers. Memory stays flat whatever its size.
 */
export async function fileLargeMessage(deps: IntakeDeps, chunks: AsyncIterable<Buffer>, origin: Origin): Promise<IntakeResult> {
  const stored = await insertRawStreamed(deps.db, origin, chunks);
  if (!stored) return ignoredDuplicate(deps, origin);
  return leaveForSweepOnError(deps, stored.id, () => fileStoredMessage(deps, { rawId: stored.id, raw: stored.prefix, receivedAt: stored.receivedAt, size: stored.size }));
}

/**
 * Files a message of unknown size from a stream (the MTA pipe): held in memory up to
 * MAX_MESSAGE_BYTES and filed as usual, streamed into storage beyond that.
 */
export async function fileFromStream(deps: IntakeDeps, source: AsyncIterable<Buffer>, origin: Origin): Promise<IntakeResult> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return fileRawMessage(deps, Buffer.concat(head), origin);
    head.push(next.value);
    size += next.value.length;
    if (size > deps.maxMessageBytes) break;
  }
  async function* everything(): AsyncGenerator<Buffer> {
    yield* head.splice(0);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return fileLargeMessage(deps, everything(), origin);
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
 * `fileRawMessage` for one fetch of messages, with the same outcomes (the same paths, decided by
 * the same rules), in a few statements: the raw copies in one INSERT, the threads looked up
 * together, and the new cases (most of a busy mailbox) in one transaction with one job add.
 * Stored messages are reported even when a later one could not be, so the caller acknowledges
 * exactly those.
 */
export async function fileBatch(deps: IntakeDeps, items: BatchItem[]): Promise<BatchOutcome> {
  let rows: Array<{ id: string; receivedAt: Date } | null>;
  try {
    // One transaction, so a batch is stored whole or not at all (its statements split by size).
    rows = await deps.db.transaction().execute((tx) => insertRaws(tx, items.map((item) => rawInsert(item.raw, item.origin))));
  } catch {
    // One transaction, so nothing was stored: one at a time, the messages before a bad one still are.
    const results: IntakeResult[] = [];
    for (const item of items) {
      try {
        results.push(await fileRawMessage(deps, item.raw, item.origin));
      } catch (err) {
        return { results, error: err };
      }
    }
    return { results, error: null };
  }

  const results = new Array<IntakeResult>(items.length);
  const stored: Array<{ index: number; message: StoredRaw }> = [];
  rows.forEach((row, index) => {
    const item = items[index]!;
    if (row) stored.push({ index, message: { rawId: row.id, raw: item.raw, receivedAt: row.receivedAt, size: item.raw.length } });
    else results[index] = ignoredDuplicate(deps, item.origin);
  });
  const decided = await decidePaths(deps, stored.map((s) => s.message));
  const isNewCase = (k: number): boolean => {
    const d = decided[k]!;
    return 'path' in d && d.path.path === 'new_case';
  };
  // New cases go together (one transaction, one match job); every other path as one message does.
  const newCases = stored.flatMap(({ index, message }, k) => (isNewCase(k) ? [{ index, message: { ...message, read: (decided[k] as Decided).read! } }] : []));
  await Promise.all(
    stored.map(async ({ index, message }, k) => {
      if (!isNewCase(k)) results[index] = await leaveForSweepOnError(deps, message.rawId, () => fileDecided(deps, message, decided[k]!));
    }),
  );
  const filed = await fileNewCases(deps, newCases.map((n) => n.message));
  newCases.forEach((n, i) => (results[n.index] = filed[i]!));
  return { results, error: null };
}

/** Files a message stored but not yet filed, by id (the recovery sweep); null when there is none such. */
export async function fileUnfiled(deps: IntakeDeps, rawId: string): Promise<IntakeResult | null> {
  const row = await loadRaw(deps.db, rawId);
  if (!row || row.status !== 'received') return null;
  return fileStoredMessage(deps, { rawId, raw: row.raw, receivedAt: row.receivedAt, size: row.size });
}
