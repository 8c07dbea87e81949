/**
 * Cases as the HTTP API shows them: the list's summaries and one case with its messages. Plain
 * JSON values (ISO dates, emails), read in one or three statements; the dashboard and the portal
 * have views of their own (detail.ts, portal/visibility.ts).
 */
import type { DbOrTx } from '../db/connection';
import type { CaseStatus, HoldReason, MessageAuthor, MessageChannel, MessageHoldReason } from '../db/schema';

export interface CaseSummary {
  reference: string;
  status: CaseStatus;
  holdReason: HoldReason | null;
  requesterEmail: string;
  infrastructure: string | null;
  company: string | null;
  subject: string;
  createdAt: string;
  decidedAt: string | null;
  /** The assigned staff account's email; null when nobody is. */
  assignee: string | null;
  /** A customer escalated the case and it has not been solved or closed since. */
  escalated: boolean;
  /** The latest message from the customer's side after the first (mail or portal). */
  lastCustomerReplyAt: string | null;
  /** The first staff reply. */
  firstResponseAt: string | null;
}

function summaries(db: DbOrTx) {
  return db
    .selectFrom('cases as c')
    .leftJoin('infrastructures as i', 'i.id', 'c.infrastructure_id')
    .leftJoin('companies as co', 'co.id', 'c.company_id')
    .leftJoin('staff_accounts as s', 's.id', 'c.assignee_id')
    .select([
      'c.id',
      'c.reference',
      'c.status',
      'c.hold_reason',
      'c.requester_email',
      'i.key as infrastructure',
      'co.key as company',
      'c.subject',
      'c.created_at',
      'c.decided_at',
      'c.approval_id',
      's.email as assignee',
      'c.escalated_at',
      'c.last_customer_reply_at',
      'c.first_response_at',
    ]);
}

type SummaryRow = Awaited<ReturnType<ReturnType<typeof summaries>['executeTakeFirstOrThrow']>>;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

function toSummary(r: SummaryRow): CaseSummary {
  return {
    reference: r.reference,
    status: r.status,
    holdReason: r.hold_reason,
    requesterEmail: r.requester_email,
    infrastructure: r.infrastructure,
    company: r.company,
    subject: r.subject,
    createdAt: r.created_at.toISOString(),
    decidedAt: iso(r.decided_at),
    assignee: r.assignee,
    escalated: r.escalated_at !== null,
    lastCustomerReplyAt: iso(r.last_customer_reply_at),
    firstResponseAt: iso(r.first_response_at),
  };
}

export async function listCases(db: DbOrTx, filter: { status?: CaseStatus; limit: number }): Promise<CaseSummary[]> {
  const rows = await summaries(db)
    .$if(filter.status !== undefined, (q) => q.where('c.status', '=', filter.status!))
    .orderBy('c.id', 'desc')
    .limit(filter.limit)
    .execute();
  return rows.map(toSummary);
}

export interface CaseDetail extends CaseSummary {
  approvalId: string | null;
  messages: Array<{
    /** The message's id on the case (what POST /api/cases/:reference/replies answers). */
    id: string;
    from: string;
    /** `customer` (mailed in, or a portal comment) or `staff` (a reply written here). */
    author: MessageAuthor;
    /** How it came: `mail`, `portal`, `dashboard` or `api`. */
    channel: MessageChannel;
    subject: string;
    text: string;
    receivedAt: string;
    /** Set for a reply held from the case (reply_not_verified); null for the rest. */
    holdReason: MessageHoldReason | null;
    attachments: Array<{ filename: string | null; contentType: string; size: number }>;
  }>;
}

export async function getCaseByReference(db: DbOrTx, reference: string): Promise<CaseDetail | undefined> {
  const row = await summaries(db).where('c.reference', '=', reference.trim().toUpperCase()).executeTakeFirst();
  if (!row) return undefined;
  const messages = await db
    .selectFrom('messages')
    .select(['id', 'from_email', 'author', 'channel', 'subject', 'text', 'received_at', 'hold_reason'])
    .where('case_id', '=', row.id)
    .orderBy('id')
    .execute();
  const attachments = messages.length
    ? await db
        .selectFrom('attachments')
        .select(['message_id', 'filename', 'content_type', 'size'])
        .where('message_id', 'in', messages.map((m) => m.id))
        .orderBy('id')
        .execute()
    : [];
  return {
    ...toSummary(row),
    approvalId: row.approval_id,
    messages: messages.map((m) => ({
      id: m.id,
      from: m.from_email,
      author: m.author,
      channel: m.channel,
      subject: m.subject,
      text: m.text,
      receivedAt: m.received_at.toISOString(),
      holdReason: m.hold_reason,
      attachments: attachments
        .filter((a) => a.message_id === m.id)
        .map((a) => ({ filename: a.filename, contentType: a.content_type, size: a.size })),
    })),
  };
}
