import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { CaseStatus, Database, HoldReason } from '../db/schema';

/**
 * The staff case list: filters, a free-text search and pages. Newest first means highest id
 * first: ids follow creation, and ordering by id lets the primary key (or `cases_status_created`
 * under a status filter) deliver a page without sorting every match.
 *
 * The staff list (searchCases) puts escalated cases still being worked (open or pending) before
 * the rest. Sorting on that flag would sort every match, so the list is two id-ordered runs, the
 * escalated ones and then the others, and a page is cut from their concatenation.
 *
 * Indexes relied on (see migrations/):
 * - no filter, or company / infrastructure / requester: the primary key, `cases_company`,
 *   `cases_infrastructure`, `cases_requester`; a status: `cases_status_created`.
 * - view=mine: `cases_assignee` (assignee_id, id); view=escalated and the escalated run (its count
 *   too): `cases_escalated` (partial, escalated_at not null); view=unassigned:
 *   `cases_status_created` for open and pending.
 * - per row of the page only: `messages_case` (message count), the primary key of
 *   staff_accounts (assignee), `case_events_case_id` (the latest event: one index entry read
 *   backwards) and the primary key of staff_case_views (what the viewer last saw).
 * - q (a substring): none; a scan of the rows the other filters leave.
 */

export interface CaseSearchFilter {
  status?: CaseStatus;
  holdReason?: HoldReason;
  companyKey?: string;
  infrastructureKey?: string;
  /** The requester's exact address, any case. */
  requester?: string;
  /** Substring of the subject, the requester's address or name, any case; taken literally. */
  q?: string;
  /** Cases assigned to this staff account. */
  assigneeId?: string;
  /** Cases that passed the gate and are being worked (open or pending) with nobody assigned. */
  unassigned?: boolean;
  /** Cases a customer escalated (escalated_at set), whatever their status now. */
  escalated?: boolean;
}

export interface PageRequest {
  /** 1-based; below 1 or not a number means 1, past the last page means the last page. */
  page?: number;
  /** Rows per page; 50 by default, at most 200. */
  size?: number;
}

/** What the list and the case page both show of a case. */
export interface CaseHeadline {
  reference: string;
  status: CaseStatus;
  holdReason: HoldReason | null;
  subject: string;
  requesterEmail: string;
  requesterName: string | null;
  companyKey: string | null;
  companyName: string | null;
  infrastructureKey: string | null;
  infrastructureName: string | null;
  /** ISO 8601. */
  createdAt: string;
  decidedAt: string | null;
}

export interface CaseListRow extends CaseHeadline {
  messageCount: number;
}

export interface CaseSearchResult {
  rows: CaseListRow[];
  /** Matching cases on all pages. */
  total: number;
  /** The page returned (after clamping). */
  page: number;
  /** At least 1, so "page 1 of 1" holds for an empty result. */
  pages: number;
  size: number;
}

/** A row of the staff list: who works the case, whether it is escalated, and new activity. */
export interface StaffCaseRow extends CaseListRow {
  assigneeEmail: string | null;
  escalatedAt: string | null;
  /** Escalated and open or pending: listed first. */
  urgent: boolean;
  /** The case's latest case_events.id; null for a case without events. */
  latestEventId: string | null;
  /** The viewer has not opened the case since its latest event (or never opened it). */
  unseen: boolean;
}

export interface StaffCaseSearchResult extends Omit<CaseSearchResult, 'rows'> {
  rows: StaffCaseRow[];
}

/** Whose list it is: "new since you looked" is theirs. */
export interface CaseViewer {
  staffId: string;
}

export interface FilterOptions {
  companies: Array<{ key: string; name: string }>;
  infrastructures: Array<{ key: string; name: string; companyKey: string; companyName: string }>;
}

export const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;

/** A LIKE pattern matching `text` literally anywhere (backslash is PostgreSQL's default LIKE escape). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

type Scope = ExpressionBuilder<Database & { c: Database['cases']; co: Database['companies']; i: Database['infrastructures'] }, 'c' | 'co' | 'i'>;

/** The expression builder of a case query (`cases as c`, `companies as co`, `infrastructures as i`). */
export type CaseQueryScope = Scope;

/** A further condition on a case query, such as who may see which cases (src/portal/visibility.ts). */
export type CaseRestriction = (eb: CaseQueryScope) => Expression<SqlBool>;

function conditions(eb: Scope, f: CaseSearchFilter) {
  const all = [];
  if (f.status !== undefined) all.push(eb('c.status', '=', f.status));
  if (f.holdReason !== undefined) all.push(eb('c.hold_reason', '=', f.holdReason));
  if (f.companyKey) all.push(eb('co.key', '=', f.companyKey));
  if (f.infrastructureKey) all.push(eb('i.key', '=', f.infrastructureKey));
  // Intake stores addresses lower-cased, so an exact match on the lower-cased input uses cases_requester.
  if (f.requester?.trim()) all.push(eb('c.requester_email', '=', f.requester.trim().toLowerCase()));
  const q = f.q?.trim();
  if (q) {
    const pattern = containsPattern(q);
    all.push(eb.or([eb('c.subject', 'ilike', pattern), eb('c.requester_email', 'ilike', pattern), eb('c.requester_name', 'ilike', pattern)]));
  }
  if (f.assigneeId !== undefined) all.push(eb('c.assignee_id', '=', f.assigneeId));
  if (f.unassigned) all.push(eb.and([eb('c.status', 'in', WORKED), eb('c.assignee_id', 'is', null)]));
  if (f.escalated) all.push(eb('c.escalated_at', 'is not', null));
  return eb.and(all);
}

/** Passed the gate and not yet solved: what "unassigned" and "escalated first" look at. */
const WORKED: CaseStatus[] = ['open', 'pending'];

/** Escalated and still being worked: staff see these first. */
function urgent(eb: Scope) {
  return eb.and([eb('c.escalated_at', 'is not', null), eb('c.status', 'in', WORKED)]);
}

/** Whether a case has events the viewer has not seen: none seen yet, or a newer event than the one seen. */
export function isUnseen(latestEventId: string | null, seenEventId: string | null): boolean {
  if (seenEventId === null) return true;
  return latestEventId !== null && BigInt(latestEventId) > BigInt(seenEventId);
}

/** Cases with their company and infrastructure, as `c`, `co` and `i`. */
export function caseQuery(db: DbOrTx) {
  return db.selectFrom('cases as c').leftJoin('companies as co', 'co.id', 'c.company_id').leftJoin('infrastructures as i', 'i.id', 'c.infrastructure_id');
}

function base(db: DbOrTx, filter: CaseSearchFilter, restriction?: CaseRestriction) {
  const query = caseQuery(db).where((eb) => conditions(eb, filter));
  return restriction ? query.where(restriction) : query;
}

export function normalisePage(request: PageRequest, total: number): { page: number; pages: number; size: number } {
  const wanted = request.size ?? DEFAULT_PAGE_SIZE;
  const size = Number.isFinite(wanted) ? Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(wanted))) : DEFAULT_PAGE_SIZE;
  const pages = Math.max(1, Math.ceil(total / size));
  const asked = request.page !== undefined && Number.isFinite(request.page) ? Math.floor(request.page) : 1;
  return { page: Math.min(pages, Math.max(1, asked)), pages, size };
}

/**
 * The staff list: escalated cases still being worked first, then the rest, each run newest first.
 * With a viewer, each row says whether it has activity they have not seen.
 */
export async function searchCases(db: DbOrTx, filter: CaseSearchFilter, request: PageRequest = {}, viewer?: CaseViewer): Promise<StaffCaseSearchResult> {
  const [total, urgentTotal] = await Promise.all([countCases(base(db, filter)), countCases(base(db, filter).where(urgent))]);
  const { page, pages, size } = normalisePage(request, total);
  if (total === 0) return { rows: [], total, page, pages, size };
  const offset = (page - 1) * size;
  const first = offset < urgentTotal ? await staffRows(db, filter, viewer, true, size, offset) : [];
  const rest = first.length < size ? await staffRows(db, filter, viewer, false, size - first.length, Math.max(0, offset - urgentTotal)) : [];
  return { rows: [...first, ...rest], total, page, pages, size };
}

async function countCases(query: ReturnType<typeof base>): Promise<number> {
  const counted = await query.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(counted.n);
}

/** One run of the staff list: the urgent cases or the others, newest first. */
async function staffRows(db: DbOrTx, filter: CaseSearchFilter, viewer: CaseViewer | undefined, urgentRun: boolean, limit: number, offset: number): Promise<StaffCaseRow[]> {
  const rows = await listColumns(base(db, filter).where((eb) => (urgentRun ? urgent(eb) : eb.not(urgent(eb)))))
    .select([
      'c.escalated_at',
      sql<string | null>`(select a.email from staff_accounts a where a.id = c.assignee_id)`.as('assignee_email'),
      sql<string | null>`(select e.id from case_events e where e.case_id = c.id order by e.id desc limit 1)`.as('latest_event_id'),
      (viewer ? sql<string | null>`(select v.seen_event_id from staff_case_views v where v.staff_id = ${viewer.staffId} and v.case_id = c.id)` : sql<string | null>`null::bigint`).as('seen_event_id'),
    ])
    .orderBy('c.id', 'desc')
    .limit(limit)
    .offset(offset)
    .execute();
  return rows.map((r) => {
    const latestEventId = r.latest_event_id === null ? null : String(r.latest_event_id);
    return {
      ...listRow(r),
      assigneeEmail: r.assignee_email,
      escalatedAt: r.escalated_at ? r.escalated_at.toISOString() : null,
      urgent: urgentRun,
      latestEventId,
      unseen: viewer ? isUnseen(latestEventId, r.seen_event_id === null ? null : String(r.seen_event_id)) : false,
    };
  });
}

/** What every list shows of a case. */
function listColumns(query: ReturnType<typeof base>) {
  return query.select([
    'c.reference',
    'c.status',
    'c.hold_reason',
    'c.subject',
    'c.requester_email',
    'c.requester_name',
    'co.key as company_key',
    'co.name as company_name',
    'i.key as infrastructure_key',
    'i.name as infrastructure_name',
    'c.created_at',
    'c.decided_at',
    // Per row of the page only, through messages_case.
    sql<string>`(select count(*) from messages m where m.case_id = c.id)`.as('message_count'),
  ]);
}

type ListColumns = Awaited<ReturnType<ReturnType<typeof listColumns>['execute']>>[number];

function listRow(r: ListColumns): CaseListRow {
  return {
    reference: r.reference,
    status: r.status,
    holdReason: r.hold_reason,
    subject: r.subject,
    requesterEmail: r.requester_email,
    requesterName: r.requester_name,
    companyKey: r.company_key,
    companyName: r.company_name,
    infrastructureKey: r.infrastructure_key,
    infrastructureName: r.infrastructure_name,
    createdAt: r.created_at.toISOString(),
    decidedAt: r.decided_at ? r.decided_at.toISOString() : null,
    messageCount: Number(r.message_count),
  };
}

/** Any list within a restriction (the portal's), newest first: only cases it holds for are counted, paged and listed. */
export async function searchCasesWhere(db: DbOrTx, restriction: CaseRestriction | undefined, filter: CaseSearchFilter, request: PageRequest = {}): Promise<CaseSearchResult> {
  const total = await countCases(base(db, filter, restriction));
  const { page, pages, size } = normalisePage(request, total);
  if (total === 0) return { rows: [], total, page, pages, size };
  const rows = await listColumns(base(db, filter, restriction))
    .orderBy('c.id', 'desc')
    .limit(size)
    .offset((page - 1) * size)
    .execute();
  return { rows: rows.map(listRow), total, page, pages, size };
}

/** What the filter dropdowns offer: every company and infrastructure, by name. */
export async function listFilterOptions(db: DbOrTx): Promise<FilterOptions> {
  const [companies, infrastructures] = await Promise.all([
    db.selectFrom('companies').select(['key', 'name']).orderBy('name').orderBy('key').execute(),
    db
      .selectFrom('infrastructures as i')
      .innerJoin('companies as co', 'co.id', 'i.company_id')
      .select(['i.key', 'i.name', 'co.key as companyKey', 'co.name as companyName'])
      .orderBy('co.name')
      .orderBy('i.name')
      .orderBy('i.key')
      .execute(),
  ]);
  return { companies, infrastructures };
}
