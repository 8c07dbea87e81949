import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { ApprovalChannel, ApprovalStatus, MessageAuthor, MessageHoldReason } from '../db/schema';
import { FOLD_HTML_CHARS, foldedReply } from '../reading/written-reply';
import { isRawId } from '../intake/quarantine';
import type { CaseHeadline } from './search';

/**
 * One case as support staff see it: the case, its whole thread, participants, approval and audit
 * trail. Times are ISO 8601 strings. Message HTML and attachment bytes are left out (a thread can
 * be megabytes) and fetched one at a time by loadMessageHtml / loadAttachment.
 */

export interface TrailEntry {
  at: string;
  actor: string;
  /** How the actor acted (link, reply, staff, system…); null for case events, which have none. */
  channel: string | null;
  /** The case event's kind or the audit row's action. */
  action: string;
  detail: Record<string, unknown>;
  source: 'case_event' | 'audit';
}

export interface AttachmentInfo {
  id: string;
  filename: string | null;
  contentType: string;
  size: number;
  sha256: string;
}

export interface ThreadMessage {
  id: string;
  from: string;
  name: string | null;
  recipients: string[];
  subject: string;
  text: string;
  /** A customer's reply with quoted history or a signature: what they wrote, shown first (the rest folded). */
  written: string | null;
  author: MessageAuthor;
  hasHtml: boolean;
  sentAt: string | null;
  receivedAt: string;
  attachments: AttachmentInfo[];
  /** Kept on the case but held from it (a reply whose sender was not verified); null for the rest. */
  holdReason: MessageHoldReason | null;
}

export interface ApprovalDetail {
  id: string;
  status: ApprovalStatus;
  requesterEmail: string;
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
  channel: ApprovalChannel | null;
  mailHeld: 'no_approvers' | 'capped' | null;
  approvers: string[];
  /** audit_log rows of this approval, oldest first. */
  history: TrailEntry[];
}

export interface CaseDetailView extends CaseHeadline {
  id: string;
  route: string | null;
  senderVerified: boolean | null;
  intakeHold: 'too_large' | null;
  /** Oldest first. */
  messages: ThreadMessage[];
  participants: Array<{ email: string; addedAt: string }>;
  approval: ApprovalDetail | null;
  /** When a customer escalated it (ISO 8601); null when not escalated, or since solved or closed. */
  escalatedAt: string | null;
  /** Why a held case still waits on its approval request, in words (see `heldBecause`); null otherwise. */
  heldBecause: string | null;
  /** case_events and audit_log rows of the case, oldest first. */
  trail: TrailEntry[];
}

export interface AttachmentContent {
  filename: string | null;
  contentType: string;
  size: number;
  content: Buffer;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export async function loadCaseDetail(db: DbOrTx, reference: string): Promise<CaseDetailView | undefined> {
  const c = await db
    .selectFrom('cases as c')
    .leftJoin('companies as co', 'co.id', 'c.company_id')
    .leftJoin('infrastructures as i', 'i.id', 'c.infrastructure_id')
    .selectAll('c')
    .select(['co.key as company_key', 'co.name as company_name', 'i.key as infrastructure_key', 'i.name as infrastructure_name'])
    .where('c.reference', '=', reference.trim().toUpperCase())
    .executeTakeFirst();
  if (!c) return undefined;
  const [messages, participants, approval, trail] = await Promise.all([
    loadThread(db, c.id),
    db.selectFrom('case_participants').select(['email', 'added_at']).where('case_id', '=', c.id).orderBy('added_at').orderBy('email').execute(),
    c.approval_id ? loadApproval(db, c.approval_id) : Promise.resolve(null),
    loadTrail(db, c.id),
  ]);
  return {
    id: c.id,
    reference: c.reference,
    status: c.status,
    holdReason: c.hold_reason,
    subject: c.subject,
    requesterEmail: c.requester_email,
    requesterName: c.requester_name,
    companyKey: c.company_key,
    companyName: c.company_name,
    infrastructureKey: c.infrastructure_key,
    infrastructureName: c.infrastructure_name,
    route: c.route,
    senderVerified: c.sender_verified,
    intakeHold: c.intake_hold,
    createdAt: c.created_at.toISOString(),
    decidedAt: iso(c.decided_at),
    messages,
    participants: participants.map((p) => ({ email: p.email, addedAt: p.added_at.toISOString() })),
    approval,
    escalatedAt: iso(c.escalated_at),
    heldBecause: heldBecause(c.status, approval, c.company_name),
    trail,
  };
}

/**
 * Why a held case still waits on its approval request: nobody answered it (expired), nobody
 * could be asked, or it waits for an answer. Null for a case that is not held, or held for a
 * reason of its own (its hold reason says it).
 */
export function heldBecause(status: string, approval: Pick<ApprovalDetail, 'status' | 'mailHeld'> | null, companyName: string | null): string | null {
  if (status !== 'suspended' || !approval) return null;
  const admins = companyName ? `an administrator of ${companyName}` : 'an administrator of the company';
  switch (approval.status) {
    case 'expired':
      return `The approval request expired without an answer, so the case is still held: ${admins} can still authorize or ignore it in the support portal, or support staff can release it. The requester was told.`;
    case 'pending':
      if (approval.mailHeld === 'no_approvers') return `Nobody could be asked to authorize the sender (no active administrator); ${admins} can decide it in the support portal, or support staff can release it.`;
      if (approval.mailHeld === 'capped') return `Waiting for an approval request that the hourly cap has held back; it is mailed once the cap allows.`;
      return `Waiting for ${admins} to authorize or ignore the sender.`;
    default:
      return null;
  }
}

async function loadThread(db: DbOrTx, caseId: string): Promise<ThreadMessage[]> {
  const messages = await db
    .selectFrom('messages')
    .select(['id', 'from_email', 'from_name', 'recipients', 'subject', 'text', 'author', 'sent_at', 'received_at', 'hold_reason'])
    .select(sql<boolean>`html is not null`.as('has_html'))
    // A customer's HTML is where their quote markup is exact (staff wrote plain text); a huge
    // one stays in the database and the fold is read from the text (FOLD_HTML_CHARS).
    .select(sql<string | null>`case when author = 'customer' and length(html) <= ${FOLD_HTML_CHARS} then html end`.as('html'))
    .where('case_id', '=', caseId)
    .orderBy('id')
    .execute();
  if (!messages.length) return [];
  const attachments = await db
    .selectFrom('attachments')
    .select(['id', 'message_id', 'filename', 'content_type', 'size', 'sha256'])
    .where('message_id', 'in', messages.map((m) => m.id))
    .orderBy('id')
    .execute();
  return messages.map((m) => ({
    id: m.id,
    from: m.from_email,
    name: m.from_name,
    recipients: m.recipients,
    subject: m.subject,
    text: m.text,
    written: m.author === 'customer' ? foldedReply({ text: m.text, html: m.html }) : null,
    author: m.author,
    hasHtml: m.has_html,
    sentAt: iso(m.sent_at),
    receivedAt: m.received_at.toISOString(),
    holdReason: m.hold_reason,
    attachments: attachments
      .filter((a) => a.message_id === m.id)
      .map((a) => ({ id: a.id, filename: a.filename, contentType: a.content_type, size: a.size, sha256: a.sha256 })),
  }));
}

type AuditRow = { id: string; at: Date; actor: string; channel: string; action: string; detail: Record<string, unknown> };

function auditEntry(r: AuditRow): TrailEntry {
  return { at: r.at.toISOString(), actor: r.actor, channel: r.channel, action: r.action, detail: r.detail, source: 'audit' };
}

const AUDIT_COLUMNS = ['id', 'at', 'actor', 'channel', 'action', 'detail'] as const;

async function loadApproval(db: DbOrTx, approvalId: string): Promise<ApprovalDetail | null> {
  const [a, approvers, history] = await Promise.all([
    db.selectFrom('approvals').selectAll().where('id', '=', approvalId).executeTakeFirst(),
    db.selectFrom('approval_approvers').select('email').where('approval_id', '=', approvalId).orderBy('email').execute(),
    db.selectFrom('audit_log').select(AUDIT_COLUMNS).where('approval_id', '=', approvalId).orderBy('at').orderBy('id').execute(),
  ]);
  if (!a) return null;
  return {
    id: a.id,
    status: a.status,
    requesterEmail: a.requester_email,
    createdAt: a.created_at.toISOString(),
    expiresAt: a.expires_at.toISOString(),
    decidedAt: iso(a.decided_at),
    decidedBy: a.decided_by,
    channel: a.channel,
    mailHeld: a.mail_held,
    approvers: approvers.map((x) => x.email),
    history: history.map(auditEntry),
  };
}

/**
 * Case events and audit rows merged by time, in SQL so microseconds count. Rows written in one
 * transaction share `now()`; among those, case events come first (the decision is recorded before
 * what follows from it), then by id.
 */
async function loadTrail(db: DbOrTx, caseId: string): Promise<TrailEntry[]> {
  const events = db
    .selectFrom('case_events')
    .select(['id', 'at', 'actor', 'channel', 'kind as action', 'detail', sql<number>`0`.as('rank')])
    .where('case_id', '=', caseId);
  const audits = db
    .selectFrom('audit_log')
    .select(['id', 'at', 'actor', 'channel', 'action', 'detail', sql<number>`1`.as('rank')])
    .where('case_id', '=', caseId);
  const rows = await db.selectFrom(events.unionAll(audits).as('t')).selectAll().orderBy('at').orderBy('rank').orderBy('id').execute();
  return rows.map((r) => ({ at: r.at.toISOString(), actor: r.actor, channel: r.channel, action: r.action, detail: r.detail, source: r.rank === 0 ? 'case_event' : 'audit' }));
}

/** A message's HTML body, for a sandboxed view; undefined when there is none or no such message. */
export async function loadMessageHtml(db: DbOrTx, messageId: string): Promise<string | undefined> {
  if (!isRawId(messageId)) return undefined;
  const row = await db.selectFrom('messages').select('html').where('id', '=', messageId).executeTakeFirst();
  return row?.html ?? undefined;
}

export async function loadAttachment(db: DbOrTx, attachmentId: string): Promise<AttachmentContent | undefined> {
  if (!isRawId(attachmentId)) return undefined;
  const row = await db
    .selectFrom('attachments')
    .select(['filename', 'content_type', 'size', sql<Buffer>`coalesce(content, lo_get(content_oid))`.as('content')])
    .where('id', '=', attachmentId)
    .executeTakeFirst();
  return row && { filename: row.filename, contentType: row.content_type, size: row.size, content: row.content };
}

/**
 * The reference of the case a message belongs to (the portal's access check before serving its
 * HTML). A held message belongs to no case the customer sees: undefined, as for an unknown one.
 */
export async function caseReferenceOfMessage(db: DbOrTx, messageId: string): Promise<string | undefined> {
  if (!isRawId(messageId)) return undefined;
  const row = await db
    .selectFrom('messages as m')
    .innerJoin('cases as c', 'c.id', 'm.case_id')
    .select('c.reference')
    .where('m.id', '=', messageId)
    .where('m.hold_reason', 'is', null)
    .executeTakeFirst();
  return row?.reference;
}

/** The reference of the case an attachment belongs to; undefined for one of a held message. */
export async function caseReferenceOfAttachment(db: DbOrTx, attachmentId: string): Promise<string | undefined> {
  if (!isRawId(attachmentId)) return undefined;
  const row = await db
    .selectFrom('attachments as a')
    .innerJoin('messages as m', 'm.id', 'a.message_id')
    .innerJoin('cases as c', 'c.id', 'm.case_id')
    .select('c.reference')
    .where('a.id', '=', attachmentId)
    .where('m.hold_reason', 'is', null)
    .executeTakeFirst();
  return row?.reference;
}
