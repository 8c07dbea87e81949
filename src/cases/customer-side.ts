/**
 * The customer's side of a worked case: a reply (mailed or commented in the portal) that
 * reopens the case or, long after it closed, starts a follow-up case; an escalation; and the
 * sweep that closes solved cases once REOPEN_WINDOW has passed. Rules in lifecycle.ts.
 */
import { sql } from 'kysely';
import { audit } from '../audit/audit-log';
import type { DbOrTx, Tx } from '../db/connection';
import type { CaseRow } from '../db/schema';
import { DomainError } from '../errors';
import { addAllToOutbox, type AnyMail } from '../mail/outbox';
import { formatDate } from '../dates';
import { customerReply, refusalFor, type ReplyEffect } from './lifecycle';
import { createCase, recordEvent, writeMessage, type IncomingMessage, type IntakeFindings } from './repository';
import { applyStatusChange, caseContext, lockCase, lockCaseById, refused, type Actor, type CaseworkDeps } from './work-common';

/** Whether `email` is the case's requester or one of its participants. */
async function isItsPerson(tx: Tx, c: CaseRow, email: string): Promise<boolean> {
  if (c.requester_email === email) return true;
  return Boolean(await tx.selectFrom('case_participants').select('email').where('case_id', '=', c.id).where('email', '=', email).executeTakeFirst());
}

/**
 * What a message from the customer's side does to the case it answers (lifecycle.customerReply),
 * with the case locked for the rest of the transaction. `trusted`: the portal let the writer see
 * the case, which counts as one of its people.
 */
export async function replyEffect(tx: Tx, caseId: string, fromEmail: string, at: Date, reopenWindowMs: number, trusted = false): Promise<{ c: CaseRow; effect: ReplyEffect; itsPeople: boolean }> {
  const c = await lockCaseById(tx, caseId);
  const itsPeople = trusted || (await isItsPerson(tx, c, fromEmail));
  return { c, effect: customerReply({ status: c.status, resolvedAt: c.resolved_at }, itsPeople, at, reopenWindowMs), itsPeople };
}

/** After the message joined the case: when the customer last wrote, and the reopening if any. */
export async function afterCustomerMessage(tx: Tx, c: CaseRow, effect: ReplyEffect, actor: Actor): Promise<void> {
  await tx.updateTable('cases').set({ last_customer_reply_at: sql<Date>`now()` }).where('id', '=', c.id).execute();
  if (effect.effect === 'reopen') await applyStatusChange(tx, c.id, effect.change, actor, 'customer_reply');
}

/**
 * A reply to a case resolved longer than REOPEN_WINDOW ago: a new case (status `new`, matched and
 * gated like any other) that names the old one; the old case records that it was followed up.
 */
export async function startFollowUp(tx: Tx, old: CaseRow, rawMessageId: string | null, message: IncomingMessage, receivedAt: Date, findings: IntakeFindings, actor: Actor): Promise<{ id: string; reference: string }> {
  const created = await createCase(tx, rawMessageId, message, receivedAt, findings, { followsCaseId: old.id, channel: actor.channel === 'portal' ? 'portal' : 'mail' });
  await recordEvent(tx, old.id, 'followed_up', actor.email, { caseId: created.id, reference: created.reference }, actor.channel);
  return created;
}

export type CommentOutcome = { result: 'added'; reference: string } | { result: 'follow_up'; caseId: string; reference: string };

/**
 * A portal comment from someone who may see the case (the caller checked): a message of the
 * case exactly as a mailed reply would be, reopening it; on a case closed long ago, a follow-up
 * case, which the caller queues for matching. A held or ignored case takes no comment.
 */
export async function commentOnCase(deps: CaseworkDeps, reference: string, person: { email: string; name: string | null }, text: string, attachments: IncomingMessage['attachments']): Promise<CommentOutcome> {
  const body = text.replace(/\r\n?/g, '\n').replace(/\s+$/, '');
  if (!body.trim()) throw new DomainError('invalid_input', 'text: a comment needs some text');
  return deps.db.transaction().execute(async (tx) => {
    const locked = await lockCase(tx, reference);
    const notYet = refusalFor(locked.status);
    if (notYet) throw refused(locked.reference, notYet);
    const now = new Date();
    const { c, effect } = await replyEffect(tx, locked.id, person.email, now, deps.reopenWindowMs, true);
    const actor: Actor = { email: person.email, channel: 'portal' };
    const message: IncomingMessage = { messageId: null, fromEmail: person.email, fromName: person.name, recipients: [], cc: [], subject: `Re: ${c.subject}`, text: body, html: null, sentAt: null, attachments };
    if (effect.effect === 'follow_up') {
      const created = await startFollowUp(tx, c, null, { ...message, subject: c.subject }, now, { senderVerified: true }, actor);
      return { result: 'follow_up', caseId: created.id, reference: created.reference };
    }
    const messageId = await writeMessage(tx, c.id, message, 'customer', 'portal');
    await recordEvent(tx, c.id, 'message_added', person.email, { messageId, via: 'portal', attachments: attachments.length }, 'portal');
    await afterCustomerMessage(tx, c, effect, actor);
    return { result: 'added', reference: c.reference };
  });
}

const MAX_REASON = 4000;

/**
 * An escalation asked for by someone the caller let (requester, an administrator of the case's
 * infrastructure, a company admin): the case is marked, the assignee (or every staff account,
 * when it has none or ESCALATION_NOTIFY=all) is mailed, and the audit log says who and why.
 * Only a case being worked (open, pending) can be escalated, and only once until it is resolved.
 */
export async function escalateCase(deps: CaseworkDeps, reference: string, person: { email: string; name: string | null }, reason: string): Promise<{ outboxIds: string[] }> {
  const why = reason.trim();
  if (!why) throw new DomainError('invalid_input', 'reason: say why the case needs escalating');
  if (why.length > MAX_REASON) throw new DomainError('invalid_input', `reason: at most ${MAX_REASON} characters`);
  return deps.db.transaction().execute(async (tx) => {
    const c = await lockCase(tx, reference);
    const notYet = refusalFor(c.status);
    if (notYet) throw refused(c.reference, notYet);
    if (c.status === 'solved' || c.status === 'closed') throw new DomainError('conflict', `${c.reference}: the case is ${c.status}; comment on it to open it again`);
    if (c.escalated_at) throw new DomainError('conflict', `${c.reference}: the case is already escalated`);
    await tx.updateTable('cases').set({ escalated_at: sql<Date>`now()`, escalated_by: person.email, escalation_reason: why }).where('id', '=', c.id).execute();
    await recordEvent(tx, c.id, 'escalated', person.email, { reason: why }, 'portal');
    await audit(tx, { actor: person.email, channel: 'portal', action: 'case_escalated', caseId: c.id, companyId: c.company_id, infrastructureId: c.infrastructure_id, subjectEmail: person.email, detail: { reference: c.reference } });
    const context = await caseContext(tx, c.id);
    const recipients = await escalationRecipients(tx, deps.escalationNotify, c.assignee_id);
    const at = formatDate(new Date());
    const mails: AnyMail[] = recipients.map((email) => ({
      kind: 'escalation_notice',
      props: { case: context.view, recipient: { email }, by: person, reason: why, caseUrl: `${deps.publicUrl}/dashboard/cases/${c.reference}`, at },
      to: email,
      caseId: c.id,
      companyId: c.company_id,
    }));
    return { outboxIds: (await addAllToOutbox(tx, deps.outbox, mails)).filter((id): id is string => id !== null) };
  });
}

/** The assignee alone, unless there is none or every staff account is to hear of escalations. */
async function escalationRecipients(tx: Tx, notify: CaseworkDeps['escalationNotify'], assigneeId: string | null): Promise<string[]> {
  const rows = await tx
    .selectFrom('staff_accounts')
    .select('email')
    .$if(notify === 'assignee' && assigneeId !== null, (q) => q.where('id', '=', assigneeId!))
    .orderBy('email')
    .execute();
  return rows.map((r) => r.email);
}

/**
 * Closes solved cases whose REOPEN_WINDOW has passed (lifecycle.isPastReopenWindow, in SQL), a batch at a time (the periodic sweep),
 * each with its `status_changed` event in the same statement. Returns how many it closed.
 */
export async function closeSolvedCases(db: DbOrTx, reopenWindowMs: number, limit = 500): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    with due as (
      select id from cases
       where status = 'solved' and resolved_at < now() - make_interval(secs => ${reopenWindowMs / 1000})
       order by resolved_at limit ${limit}
       for update skip locked
    ), closed as (
      update cases c set status = 'closed' from due where c.id = due.id and c.status = 'solved' returning c.id
    ), events as (
      insert into case_events (case_id, kind, actor, channel, detail)
      select id, 'status_changed', 'system', 'system', ${JSON.stringify({ from: 'solved', to: 'closed', cause: 'reopen_window' })}::jsonb from closed
    )
    select id from closed`.execute(db);
  return rows.length;
}
