/**
 * Staff work a case that passed the gate: answer it (mail to the requester, participants in Cc,
 * threaded on the case), write an internal note, assign it, change its status. Each change lands
 * with its case events and its mail in one transaction; the rules are in lifecycle.ts.
 */
import { sql } from 'kysely';
import { DomainError } from '../errors';
import { newMessageId, addAllToOutbox, type AnyMail } from '../mail/outbox';
import { topicOf } from '../mail/template-helpers';
import type { WorkStatus } from '../db/schema';
import { refusalFor, setStatus, windowAfterStaffReply, type StatusChange } from './lifecycle';
import { recordEvent, writeMessage, type IncomingMessage } from './repository';
import { applyStatusChange, caseContext, copiesForCcMembers, lockCase, refused, replyTo, STATUS_FOR_CUSTOMERS, type Actor, type CaseworkDeps } from './work-common';
import type { Tx } from '../db/connection';

export type NewAttachment = IncomingMessage['attachments'][number];

export interface StaffReply {
  text: string;
  /** Set the status in the same action (reply and set pending / solved). */
  status?: WorkStatus;
  /** Participants in Cc; true unless unticked. */
  copyParticipants?: boolean;
  attachments?: NewAttachment[];
}

export interface ReplyOutcome {
  outboxIds: string[];
  /** The reply's message id on the case. */
  messageId: string;
  /** Seconds from the case's arrival to this reply, when it is the first one; else null. */
  firstResponseSeconds: number | null;
}

/** Whom mail to the customer's side names as the one who acted: the engineer, or for the API token nobody in particular. */
const signedBy = (actor: Actor): string | null => (actor.channel === 'api' ? null : actor.email);

/** How many of the thread's Message-IDs a reply's References names (the latest ones). */
const REFERENCES_KEPT = 20;

/** `Re: [CASE-000123] Printer on fire`, the subject of the mail that leaves (templates/staff_reply). */
export function replySubject(subject: string, reference: string): string {
  return `Re: [${reference}] ${topicOf(subject)}`.trimEnd();
}

/** The Message-IDs of the case's thread, oldest first (its held replies aside: a forger chose theirs). */
async function threadIds(tx: Tx, caseId: string): Promise<string[]> {
  const rows = await tx.selectFrom('messages').select('message_id').where('case_id', '=', caseId).where('hold_reason', 'is', null).where('message_id', 'is not', null).orderBy('id').execute();
  return rows.map((r) => r.message_id!);
}

export async function replyToCase(deps: CaseworkDeps, reference: string, reply: StaffReply, actor: Actor): Promise<ReplyOutcome> {
  const text = reply.text.replace(/\r\n?/g, '\n').replace(/\s+$/, '');
  if (!text.trim()) throw new DomainError('invalid_input', 'text: a reply needs some text');
  return deps.db.transaction().execute(async (tx) => {
    const c = await lockCase(tx, reference);
    const notYet = refusalFor(c.status);
    if (notYet) throw refused(c.reference, notYet);
    const change = reply.status ? setStatus({ status: c.status, resolvedAt: c.resolved_at }, reply.status, new Date()) : { change: null };
    if ('refused' in change) throw refused(c.reference, change.refused);

    const context = await caseContext(tx, c.id);
    const thread = await threadIds(tx, c.id);
    const cc = reply.copyParticipants === false ? [] : (await tx.selectFrom('case_participants').select('email').where('case_id', '=', c.id).orderBy('added_at').orderBy('email').execute()).map((p) => p.email);
    const supportAddress = deps.outbox.supportAddress;
    const messageId = newMessageId(supportAddress);
    const subject = replySubject(c.subject, c.reference);
    const attachments = reply.attachments ?? [];
    const rowId = await writeMessage(
      tx,
      c.id,
      { messageId, fromEmail: actor.channel === 'api' ? supportAddress : actor.email, fromName: null, recipients: [c.requester_email, ...cc], cc, subject, text, html: null, sentAt: null, attachments },
      'staff',
      actor.channel === 'api' ? 'api' : 'dashboard',
    );
    const status = change.change ? STATUS_FOR_CUSTOMERS[change.change.to] : null;
    const mails: AnyMail[] = [
      {
        kind: 'staff_reply',
        props: { case: context.view, body: text, staff: signedBy(actor) === null ? null : { name: null, email: actor.email }, status },
        to: c.requester_email,
        cc,
        caseId: c.id,
        companyId: c.company_id,
        messageId,
        inReplyTo: thread.at(-1) ?? null,
        references: thread.slice(-REFERENCES_KEPT),
        replyTo: replyTo(deps, c.id),
        attachmentsOf: attachments.length ? rowId : null,
      },
      ...(await copiesForCcMembers(tx, deps, context, { kind: 'reply', body: text, status, by: signedBy(actor) }, cc)),
    ];
    const outboxIds = (await addAllToOutbox(tx, deps.outbox, mails)).filter((id): id is string => id !== null);

    const first = c.first_response_at === null;
    if (first) await tx.updateTable('cases').set({ first_response_at: sql<Date>`now()` }).where('id', '=', c.id).execute();
    await recordEvent(tx, c.id, 'staff_replied', actor.email, { messageId: rowId, cc: cc.length, attachments: attachments.length, firstResponse: first }, actor.channel);
    if (change.change) await applyStatusChange(tx, c.id, change.change, actor);
    const restarted = change.change ? null : windowAfterStaffReply({ status: c.status, resolvedAt: c.resolved_at }, new Date());
    if (restarted) await tx.updateTable('cases').set({ resolved_at: restarted }).where('id', '=', c.id).execute();
    return { outboxIds, messageId: rowId, firstResponseSeconds: first ? Math.max(0, (Date.now() - c.created_at.getTime()) / 1000) : null };
  });
}

/** An internal note: never mailed, never shown to customers. Any case may have them, held ones too. */
export async function addNote(deps: CaseworkDeps, reference: string, text: string, actor: Actor): Promise<{ noteId: string }> {
  const body = text.trim();
  if (!body) throw new DomainError('invalid_input', 'text: a note needs some text');
  return deps.db.transaction().execute(async (tx) => {
    const c = await lockCase(tx, reference);
    const { id } = await tx.insertInto('case_notes').values({ case_id: c.id, author: actor.email, text: body }).returning('id').executeTakeFirstOrThrow();
    await recordEvent(tx, c.id, 'note_added', actor.email, { noteId: id }, actor.channel);
    return { noteId: id };
  });
}

export interface CaseChange {
  status?: WorkStatus;
  /** A staff account's email; null unassigns. */
  assignee?: string | null;
}

export interface ChangeOutcome {
  outboxIds: string[];
  status: StatusChange | null;
  assigned: { from: string | null; to: string | null } | null;
}

/**
 * Assigns the case and/or sets its status. Assignment works on any case (staff triage held ones
 * too); a status only on one that passed the gate. Asking for what is already so changes nothing.
 */
export async function changeCase(deps: CaseworkDeps, reference: string, change: CaseChange, actor: Actor): Promise<ChangeOutcome> {
  return deps.db.transaction().execute(async (tx) => {
    const c = await lockCase(tx, reference);
    let assigned: ChangeOutcome['assigned'] = null;
    if (change.assignee !== undefined) {
      const to = change.assignee === null ? null : await tx.selectFrom('staff_accounts').select(['id', 'email']).where('email', '=', change.assignee.trim().toLowerCase()).executeTakeFirst();
      if (to === undefined) throw new DomainError('invalid_input', `assignee: no staff account ${change.assignee}`);
      const from = c.assignee_id ? await tx.selectFrom('staff_accounts').select('email').where('id', '=', c.assignee_id).executeTakeFirst() : undefined;
      if ((to?.id ?? null) !== c.assignee_id) {
        await tx.updateTable('cases').set({ assignee_id: to?.id ?? null }).where('id', '=', c.id).execute();
        assigned = { from: from?.email ?? null, to: to?.email ?? null };
        await recordEvent(tx, c.id, 'assigned', actor.email, assigned, actor.channel);
      }
    }
    let status: StatusChange | null = null;
    const outboxIds: string[] = [];
    if (change.status) {
      const decided = setStatus({ status: c.status, resolvedAt: c.resolved_at }, change.status, new Date());
      if ('refused' in decided) throw refused(c.reference, decided.refused);
      status = decided.change;
      if (status) {
        await applyStatusChange(tx, c.id, status, actor);
        const copies = await copiesForCcMembers(tx, deps, await caseContext(tx, c.id), { kind: 'status', body: '', status: STATUS_FOR_CUSTOMERS[status.to], by: signedBy(actor) }, []);
        outboxIds.push(...(await addAllToOutbox(tx, deps.outbox, copies)).filter((id): id is string => id !== null));
      }
    }
    return { outboxIds, status, assigned };
  });
}
