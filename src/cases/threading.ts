import { sql } from 'kysely';
import { isAnyOf } from '../db/batches';
import type { DbOrTx } from '../db/connection';
import type { MessageHoldReason } from '../db/schema';
import { caseFromReplyAddress, referenceTag } from './reply-address';

export interface ThreadClues {
  fromEmail: string;
  recipients: string[];
  subject: string;
  /** Message-IDs the message answers, In-Reply-To first. */
  answers: string[];
}

/** Outbox kinds mailed to the vendor's staff, never to the case's people: answering one continues no case. */
const STAFF_FACING = ['escalation_notice'];

export type ThreadMatch = { caseId: string; via: 'message_id' | 'reply_address' | 'subject_tag' };

type ReplyAddresses = { secrets: Array<string | null>; supportAddress: string };

/**
 * Which case a message continues, if any, in the order the clues deserve trust: a Message-ID the
 * case sent or received (In-Reply-To before References; not one of a held reply); the case's signed reply address among
 * the recipients; the `[CASE-…]` tag in the subject, but only from someone who already belongs to
 * that case (its requester or a participant), since anyone can type a tag.
 */
export async function findThread(db: DbOrTx, clues: ThreadClues, replyAddresses: ReplyAddresses): Promise<ThreadMatch | null> {
  return (await findThreads(db, [clues], replyAddresses))[0]!;
}

/**
 * `findThread` for a whole fetch, in order: at most five statements however many messages, and
 * none for messages that carry no clue (no In-Reply-To or References, no signed reply address,
 * no tag), so a fetch of plain new mail asks the database nothing.
 */
export async function findThreads(db: DbOrTx, messages: ThreadClues[], replyAddresses: ReplyAddresses): Promise<Array<ThreadMatch | null>> {
  const found: Array<ThreadMatch | null> = messages.map(() => null);
  const answered = await casesByMessageId(db, [...new Set(messages.flatMap((m) => m.answers))]);
  messages.forEach((m, i) => {
    const hit = m.answers.find((id) => answered.has(id));
    if (hit) found[i] = { caseId: answered.get(hit)!, via: 'message_id' };
  });

  const addressed = messages.map((m, i) => (found[i] ? [] : m.recipients.flatMap((r) => caseFromReplyAddress(r, replyAddresses.secrets, replyAddresses.supportAddress) ?? [])));
  const existing = await existingCases(db, [...new Set(addressed.flat())]);
  addressed.forEach((ids, i) => {
    const caseId = ids.find((id) => existing.has(id));
    if (caseId) found[i] = { caseId, via: 'reply_address' };
  });

  const tagged = messages.map((m, i) => (found[i] ? null : referenceTag(m.subject)));
  const byReference = await casesByReference(db, [...new Set(tagged.filter((t): t is string => t !== null))]);
  const tagCase = tagged.map((reference) => (reference ? byReference.get(reference) : undefined));
  const asking = messages.flatMap((m, i) => (tagCase[i] && tagCase[i].requesterEmail !== m.fromEmail ? [{ caseId: tagCase[i].id, email: m.fromEmail }] : []));
  const participants = await participantsAmong(db, asking);
  messages.forEach((m, i) => {
    const c = tagCase[i];
    if (c && (c.requesterEmail === m.fromEmail || participants.has(`${c.id} ${m.fromEmail}`))) found[i] = { caseId: c.id, via: 'subject_tag' };
  });
  return found;
}

/** The case each Message-ID belongs to, from the mail a case received and the mail it sent. */
async function casesByMessageId(db: DbOrTx, ids: string[]): Promise<Map<string, string>> {
  const byId = new Map<string, string>();
  if (!ids.length) return byId;
  const [inbound, outbound] = await Promise.all([
    // A held reply's Message-ID was chosen by whoever forged it: it leads nowhere.
    db.selectFrom('messages').select(['case_id', 'message_id']).where(isAnyOf('message_id', ids)).where('hold_reason', 'is', null).execute(),
    // Mail to staff names its case too, but an answer to it is staff talking among themselves.
    db.selectFrom('outbox').select(['case_id', 'message_id']).where(isAnyOf('message_id', ids)).where('case_id', 'is not', null).where('kind', 'not in', STAFF_FACING).execute(),
  ]);
  for (const r of [...inbound, ...outbound]) if (r.message_id && r.case_id) byId.set(r.message_id, r.case_id);
  return byId;
}

async function existingCases(db: DbOrTx, ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows = await db.selectFrom('cases').select('id').where(sql<boolean>`id = any(${ids}::bigint[])`).execute();
  return new Set(rows.map((r) => r.id));
}

async function casesByReference(db: DbOrTx, references: string[]): Promise<Map<string, { id: string; requesterEmail: string }>> {
  if (!references.length) return new Map();
  const rows = await db.selectFrom('cases').select(['id', 'reference', 'requester_email']).where(isAnyOf('reference', references)).execute();
  return new Map(rows.map((r) => [r.reference, { id: r.id, requesterEmail: r.requester_email }]));
}

/** Which of these (case, address) pairs are participants, as `"<caseId> <email>"`. */
async function participantsAmong(db: DbOrTx, pairs: Array<{ caseId: string; email: string }>): Promise<Set<string>> {
  if (!pairs.length) return new Set();
  const rows = await db
    .selectFrom('case_participants')
    .select(['case_id', 'email'])
    .where(sql<boolean>`(case_id, email) in (select * from unnest(${pairs.map((p) => p.caseId)}::bigint[], ${pairs.map((p) => p.email)}::text[]))`)
    .execute();
  return new Set(rows.map((r) => `${r.case_id} ${r.email}`));
}

/**
 * Whether a reply found its case but is held from it. A reply joins its case, and its Cc become
 * participants, only when its sender is verified the way a new case's is: a forged From with
 * `[CASE-…]` (or a Message-ID of the thread) must not put its Cc among the people who read the
 * case. Unverified, it is kept on the case for staff and grants nothing. `null` (no receiving
 * server's verdict, INBOUND_AUTHSERV_ID unset) trusts the From address, as new cases do.
 */
export function replyHold(senderVerified: boolean | null): MessageHoldReason | null {
  return senderVerified === false ? 'reply_not_verified' : null;
}
