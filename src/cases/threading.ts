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

/**
 * False when the message carries none of `findThread`'s clues (no In-Reply-To or References, no
 * signed reply address, no `[CASE-…]` tag), so it starts a new case without asking the database.
 */
export function mayContinueCase(clues: ThreadClues, replyAddresses: { secrets: Array<string | null>; supportAddress: string }): boolean {
  return (
    clues.answers.length > 0 ||
    clues.recipients.some((r) => caseFromReplyAddress(r, replyAddresses.secrets, replyAddresses.supportAddress) !== null) ||
    referenceTag(clues.subject) !== null
  );
}

/**
 * Which case a message continues, if any, in the order the clues deserve trust: a Message-ID the
 * case sent or received (In-Reply-To before References; not one of a held reply); the case's signed reply address among
 * the recipients; the `[CASE-…]` tag in the subject, but only from someone who already belongs to
 * that case (its requester or a participant), since anyone can type a tag.
 */
export async function findThread(db: DbOrTx, clues: ThreadClues, replyAddresses: { secrets: Array<string | null>; supportAddress: string }): Promise<ThreadMatch | null> {
  if (clues.answers.length) {
    const [inbound, outbound] = await Promise.all([
      // A held reply's Message-ID was chosen by whoever forged it: it leads nowhere.
      db.selectFrom('messages').select(['case_id', 'message_id']).where(isAnyOf('message_id', clues.answers)).where('hold_reason', 'is', null).execute(),
      // Mail to staff names its case too, but an answer to it is staff talking among themselves.
      db.selectFrom('outbox').select(['case_id', 'message_id']).where(isAnyOf('message_id', clues.answers)).where('case_id', 'is not', null).where('kind', 'not in', STAFF_FACING).execute(),
    ]);
    const byId = new Map<string, string>();
    for (const r of [...inbound, ...outbound]) if (r.message_id && r.case_id) byId.set(r.message_id, r.case_id);
    const hit = clues.answers.find((id) => byId.has(id));
    if (hit) return { caseId: byId.get(hit)!, via: 'message_id' };
  }

  for (const recipient of clues.recipients) {
    const caseId = caseFromReplyAddress(recipient, replyAddresses.secrets, replyAddresses.supportAddress);
    if (caseId && (await db.selectFrom('cases').select('id').where('id', '=', caseId).executeTakeFirst())) return { caseId, via: 'reply_address' };
  }

  const reference = referenceTag(clues.subject);
  if (reference) {
    const c = await db.selectFrom('cases').select(['id', 'requester_email']).where('reference', '=', reference).executeTakeFirst();
    if (c && c.requester_email === clues.fromEmail) return { caseId: c.id, via: 'subject_tag' };
    if (c && (await db.selectFrom('case_participants').select('email').where('case_id', '=', c.id).where('email', '=', clues.fromEmail).executeTakeFirst())) {
      return { caseId: c.id, via: 'subject_tag' };
    }
  }
  return null;
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
