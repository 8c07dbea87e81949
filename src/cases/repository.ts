import { sql } from 'kysely';
import { groupBySize, MAX_STATEMENT_BYTES } from '../db/batches';
import { writeLargeObject } from '../db/large-objects';
import type { DbOrTx, Tx } from '../db/connection';
import type { CaseStatus, MessageAuthor, MessageChannel, MessageHoldReason } from '../db/schema';

/** What a case needs of an incoming message (intake's parser produces it). */
export interface IncomingMessage {
  messageId: string | null;
  fromEmail: string;
  fromName: string | null;
  /** To, Cc, Delivered-To and X-Original-To addresses, lower-cased, in that order, without repeats. */
  recipients: string[];
  /** The Cc addresses alone: they become the case's participants. */
  cc: string[];
  subject: string;
  text: string;
  html: string | null;
  sentAt: Date | null;
  attachments: Array<{ filename: string | null; contentType: string; size: number; sha256: string; content: Buffer }>;
}

export const CASE_STATUSES: readonly CaseStatus[] = ['new', 'open', 'pending', 'solved', 'closed', 'suspended', 'ignored'];

/** What intake learned that matching must weigh: an oversize message, an unverified sender. */
export interface IntakeFindings {
  intakeHold?: 'too_large' | null;
  /** null when no receiving server's verdict is configured (INBOUND_AUTHSERV_ID unset). */
  senderVerified?: boolean | null;
}

/** Where a new case came from, when not from a message mailed out of the blue. */
export interface CaseOrigin {
  /** The case it follows up: a reply to that case after REOPEN_WINDOW (cases/lifecycle.ts). */
  followsCaseId?: string;
  /** `portal` for a follow-up begun by a portal comment (no raw copy); `mail` otherwise. */
  channel?: MessageChannel;
}

/** Creates a case in status `new` from its first message; the caller's transaction owns it. */
export async function createCase(tx: Tx, rawMessageId: string | null, message: IncomingMessage, receivedAt: Date, findings: IntakeFindings = {}, origin: CaseOrigin = {}): Promise<{ id: string; reference: string }> {
  const created = await tx
    .insertInto('cases')
    .values({
      requester_email: message.fromEmail,
      requester_name: message.fromName,
      subject: message.subject,
      hold_reason: null,
      company_id: null,
      infrastructure_id: null,
      route: null,
      decided_at: null,
      intake_hold: findings.intakeHold ?? null,
      sender_verified: findings.senderVerified ?? null,
      follows_case_id: origin.followsCaseId ?? null,
    })
    .returning(['id', 'reference'])
    .executeTakeFirstOrThrow();
  const channel = origin.channel ?? 'mail';
  await addMessage(tx, created.id, rawMessageId, message, receivedAt, null, channel);
  await recordEvent(tx, created.id, 'created', channel === 'mail' ? 'intake' : message.fromEmail, { rawMessageId, ...(origin.followsCaseId ? { followsCaseId: origin.followsCaseId } : {}) }, channel);
  return created;
}

/** One new case of a batch: what `createCase` takes for one message. */
export interface NewCase {
  rawMessageId: string;
  message: IncomingMessage;
  receivedAt: Date;
  findings: IntakeFindings;
}

/**
 * `createCase` for many messages in a handful of statements (ids drawn first, so every row of
 * the batch is tied to its message without relying on the order of RETURNING). Returns the cases
 * in the order given. A fetch of fifty messages costs seven statements instead of two hundred.
 */
export async function createCases(tx: Tx, batch: NewCase[]): Promise<Array<{ id: string; reference: string }>> {
  if (!batch.length) return [];
  const ids = await sql<{ case_id: string; message_id: string }>`
    select nextval(pg_get_serial_sequence('cases', 'id'))::text as case_id, nextval(pg_get_serial_sequence('messages', 'id'))::text as message_id
    from generate_series(1, ${batch.length})`.execute(tx);
  const rows = batch.map((b, i) => ({ ...b, caseId: ids.rows[i]!.case_id, messageId: ids.rows[i]!.message_id }));
  const created = await tx
    .insertInto('cases')
    .values(
      rows.map((r) => ({
        id: r.caseId,
        requester_email: r.message.fromEmail,
        requester_name: r.message.fromName,
        subject: r.message.subject,
        hold_reason: null,
        company_id: null,
        infrastructure_id: null,
        route: null,
        decided_at: null,
        intake_hold: r.findings.intakeHold ?? null,
        sender_verified: r.findings.senderVerified ?? null,
      })),
    )
    .returning(['id', 'reference'])
    .execute();
  await tx.insertInto('messages').values(rows.map((r) => ({ id: r.messageId, ...messageRow(r.caseId, r.rawMessageId, r.message, r.receivedAt) }))).execute();
  await insertAttachments(tx, rows.flatMap((r) => r.message.attachments.map((a) => ({ messageId: r.messageId, attachment: a }))));
  await tx
    .insertInto('case_events')
    .values(rows.map((r) => ({ case_id: r.caseId, kind: 'created', actor: 'intake', channel: 'mail', detail: JSON.stringify({ rawMessageId: r.rawMessageId }) })))
    .execute();
  const references = new Map(created.map((c) => [c.id, c.reference]));
  return rows.map((r) => ({ id: r.caseId, reference: references.get(r.caseId)! }));
}

/**
 * Adds a further message (a reply) to an existing case. With `hold`, the message is kept on the
 * case for staff but held from it (event `reply_held`): the caller then grants nothing for it.
 */
export async function appendMessage(
  tx: Tx,
  caseId: string,
  rawMessageId: string,
  message: IncomingMessage,
  receivedAt: Date,
  via: string,
  hold: MessageHoldReason | null = null,
): Promise<{ id: string; reference: string }> {
  const c = await tx.selectFrom('cases').select(['id', 'reference']).where('id', '=', caseId).executeTakeFirstOrThrow();
  await addMessage(tx, caseId, rawMessageId, message, receivedAt, hold);
  await recordEvent(tx, caseId, hold ? 'reply_held' : 'message_added', 'intake', hold ? { rawMessageId, via, holdReason: hold } : { rawMessageId, via }, 'mail');
  return c;
}

/** People in Cc of the case's mail: they may write on this case, and on nothing else. */
export async function addParticipants(tx: Tx, caseId: string, emails: string[]): Promise<void> {
  await addParticipantsMany(tx, emails.map((email) => ({ caseId, email })));
}

/**
 * Rows per INSERT: PostgreSQL takes at most 65 535 parameters a statement, and one Cc line under
 * mailparser's 1 MiB header limit can name 80 000 addresses (two parameters each).
 */
const PARTICIPANTS_PER_STATEMENT = 10_000;

export async function addParticipantsMany(tx: Tx, rows: Array<{ caseId: string; email: string }>): Promise<void> {
  for (const group of groupBySize(rows, () => 0, PARTICIPANTS_PER_STATEMENT, MAX_STATEMENT_BYTES)) {
    await tx
      .insertInto('case_participants')
      .values(group.map((r) => ({ case_id: r.caseId, email: r.email })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}

function messageRow(caseId: string, rawMessageId: string | null, m: IncomingMessage, receivedAt: Date, hold: MessageHoldReason | null = null, channel: MessageChannel = 'mail') {
  return {
    channel,
    hold_reason: hold,
    case_id: caseId,
    raw_message_id: rawMessageId,
    message_id: m.messageId,
    from_email: m.fromEmail,
    from_name: m.fromName,
    recipients: m.recipients,
    subject: m.subject,
    text: m.text,
    html: m.html,
    sent_at: m.sentAt,
    received_at: receivedAt,
  };
}

/**
 * Attachments over this go into a large object a chunk at a time. As a bytea parameter pg holds
 * a second copy of the whole attachment while sending it: with the bench's 25 MB message (an
 * 18.5 MB attachment), 16 MB of the intake's peak.
 */
const INLINE_ATTACHMENT_BYTES = 4 * 1024 * 1024;

/** A message's attachments, small ones inline in few statements, large ones each into a large object. */
export async function insertAttachments(tx: Tx, attachments: Array<{ messageId: string; attachment: IncomingMessage['attachments'][number] }>): Promise<void> {
  const rows = [];
  for (const { messageId, attachment: a } of attachments) {
    const large = a.content.length > INLINE_ATTACHMENT_BYTES;
    const row = { message_id: messageId, filename: a.filename, content_type: a.contentType, size: a.size, sha256: a.sha256 };
    rows.push(large ? { ...row, content: null, content_oid: await writeLargeObject(tx, a.content) } : { ...row, content: a.content, content_oid: null });
  }
  for (const group of groupBySize(rows, (r) => r.content?.length ?? 0, rows.length, MAX_STATEMENT_BYTES)) await tx.insertInto('attachments').values(group).execute();
}

async function addMessage(tx: Tx, caseId: string, rawMessageId: string | null, m: IncomingMessage, receivedAt: Date, hold: MessageHoldReason | null = null, channel: MessageChannel = 'mail'): Promise<string> {
  const { id } = await tx.insertInto('messages').values(messageRow(caseId, rawMessageId, m, receivedAt, hold, channel)).returning('id').executeTakeFirstOrThrow();
  await insertAttachments(tx, m.attachments.map((attachment) => ({ messageId: id, attachment })));
  return id;
}

/**
 * A message written here rather than mailed in: a staff reply (author `staff`; its mail is an
 * outbox row with the same Message-ID) or a portal comment. No raw copy: nothing reached the
 * mailbox. Returns its id.
 */
export async function writeMessage(tx: Tx, caseId: string, message: IncomingMessage, author: MessageAuthor, channel: Exclude<MessageChannel, 'mail'>): Promise<string> {
  const { id } = await tx
    .insertInto('messages')
    .values({ ...messageRow(caseId, null, message, new Date(), null, channel), author, received_at: sql<Date>`now()` })
    .returning('id')
    .executeTakeFirstOrThrow();
  await insertAttachments(tx, message.attachments.map((attachment) => ({ messageId: id, attachment })));
  return id;
}

/**
 * One change of a case in its history, in the caller's transaction. The channel it came through
 * is `channel`, else the detail's own `channel` (approvals name theirs), else `system`.
 */
export async function recordEvent(db: DbOrTx, caseId: string, kind: string, actor: string, detail: Record<string, unknown> = {}, channel?: string): Promise<void> {
  const via = channel ?? (typeof detail.channel === 'string' ? detail.channel : 'system');
  await db.insertInto('case_events').values({ case_id: caseId, kind, actor, channel: via, detail: JSON.stringify(detail) }).execute();
}

/** Marks case events as relayed, each with the id of the event it became (events/relay.ts). */
export async function markCaseEventsRelayed(tx: Tx, relayed: Array<{ id: string; eventId: string }>): Promise<void> {
  if (!relayed.length) return;
  await sql`update case_events t set event_id = v.e from unnest(${relayed.map((r) => r.id)}::bigint[], ${relayed.map((r) => r.eventId)}::bigint[]) as v(id, e) where t.id = v.id`.execute(tx);
}
