import { sql } from 'kysely';
import { groupBySize } from '../db/batches';
import type { DbOrTx } from '../db/connection';

export interface Checkpoint {
  uidvalidity: string;
  lastUid: number;
}

export async function loadCheckpoint(db: DbOrTx, mailbox: string): Promise<Checkpoint | undefined> {
  const row = await db.selectFrom('mailbox_state').select(['uidvalidity', 'last_uid']).where('mailbox', '=', mailbox).executeTakeFirst();
  return row && { uidvalidity: row.uidvalidity, lastUid: Number(row.last_uid) };
}

/** Moves the checkpoint forward; it never goes back within one UIDVALIDITY. */
export async function saveCheckpoint(db: DbOrTx, mailbox: string, cp: Checkpoint): Promise<void> {
  await db
    .insertInto('mailbox_state')
    .values({ mailbox, uidvalidity: cp.uidvalidity, last_uid: cp.lastUid })
    .onConflict((oc) =>
      oc.column('mailbox').doUpdateSet({
        uidvalidity: cp.uidvalidity,
        last_uid: sql`case when mailbox_state.uidvalidity = excluded.uidvalidity then greatest(mailbox_state.last_uid, excluded.last_uid) else excluded.last_uid end`,
        updated_at: sql`now()`,
      }),
    )
    .execute();
}

/**
 * Splits pending messages into FETCH batches of at most `maxCount` messages and `maxBytes` bytes
 * (a larger message goes alone): a batch's sources are in memory together, so this is what keeps
 * memory bounded when large messages arrive in a row.
 */
export function batchBySize(messages: Array<{ uid: number; size: number }>, maxCount: number, maxBytes: number): number[][] {
  return groupBySize(messages, (m) => m.size, maxCount, maxBytes).map((group) => group.map((m) => m.uid));
}

/**
 * Which UIDs still need taking in. After a UIDVALIDITY change every UID is new again; the
 * Message-ID de-duplication keeps that from turning into duplicate cases.
 */
export function pendingUids(uids: number[], checkpoint: Checkpoint | undefined, uidvalidity: string): number[] {
  const after = checkpoint && checkpoint.uidvalidity === uidvalidity ? checkpoint.lastUid : 0;
  return uids.filter((u) => u > after).sort((a, b) => a - b);
}
