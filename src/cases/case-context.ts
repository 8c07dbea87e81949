/** What mail and pages say about a case: its context (first message, infrastructure) and how dates read. */
import type { DbOrTx } from '../db/connection';
import type { CaseView, InfrastructureView } from '../mail/kinds';
import { displayTimeZone, formatInstant } from '../display-time';

/** An instant as mails say it: DISPLAY_TIME_ZONE (else UTC), named, with the year. */
export function formatDate(d: Date): string {
  return formatInstant(d, displayTimeZone());
}

/** The first lines a person wrote, without quoted text: enough to recognise the request. */
export function excerpt(text: string, maxLines = 6, maxChars = 600): string {
  const lines: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*>/.test(line) || /^On .+ wrote:\s*$/.test(line)) break;
    if (!line.trim() && !lines.length) continue;
    lines.push(line.trimEnd());
    if (lines.length >= maxLines) break;
  }
  const joined = lines.join('\n').trim();
  return joined.length > maxChars ? `${joined.slice(0, maxChars - 1)}…` : joined;
}

export interface CaseContext {
  id: string;
  reference: string;
  status: string;
  holdReason: string | null;
  requesterEmail: string;
  companyId: string | null;
  infrastructureId: string | null;
  approvalId: string | null;
  /** The customer's first message: mail about the case threads with it. */
  messageId: string | null;
  /** Size of that message as received, in bytes. */
  sizeBytes: number;
  view: CaseView;
  infrastructure: InfrastructureView | null;
}

/** Everything mail and pages say about a case, in one query. */
export async function loadCaseContext(db: DbOrTx, caseId: string): Promise<CaseContext | undefined> {
  return (await loadCaseContexts(db, [caseId])).get(caseId);
}

/** `loadCaseContext` for many cases in the same one query; cases that do not exist are absent. */
export async function loadCaseContexts(db: DbOrTx, caseIds: string[]): Promise<Map<string, CaseContext>> {
  if (!caseIds.length) return new Map();
  const rows = await db
    .selectFrom('cases as c')
    .innerJoin('messages as m', 'm.case_id', 'c.id')
    // A follow-up case begun in the portal has no raw copy.
    .leftJoin('raw_messages as r', 'r.id', 'm.raw_message_id')
    .leftJoin('infrastructures as i', 'i.id', 'c.infrastructure_id')
    .leftJoin('companies as co', 'co.id', 'i.company_id')
    .select([
      'c.id', 'c.reference', 'c.status', 'c.hold_reason', 'c.requester_email', 'c.requester_name', 'c.subject', 'c.company_id',
      'c.infrastructure_id', 'c.approval_id', 'm.message_id', 'r.size', 'm.text', 'm.received_at', 'i.key as infra_key', 'i.name as infra_name', 'co.name as company_name',
    ])
    .where('c.id', 'in', caseIds)
    // The first message of each case: the one that opened it.
    .distinctOn('c.id')
    .orderBy('c.id')
    .orderBy('m.id')
    .execute();
  return new Map(
    rows.map((row) => [
      row.id,
      {
        id: row.id,
        reference: row.reference,
        status: row.status,
        holdReason: row.hold_reason,
        requesterEmail: row.requester_email,
        companyId: row.company_id,
        infrastructureId: row.infrastructure_id,
        approvalId: row.approval_id,
        messageId: row.message_id,
        sizeBytes: row.size ?? 0,
        view: {
          reference: row.reference,
          subject: row.subject,
          excerpt: excerpt(row.text),
          requesterEmail: row.requester_email,
          requesterName: row.requester_name,
          receivedAt: formatDate(row.received_at),
        },
        infrastructure: row.infra_key && row.infra_name ? { key: row.infra_key, name: row.infra_name, companyName: row.company_name ?? '' } : null,
      },
    ]),
  );
}

