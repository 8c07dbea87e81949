import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { DbOrTx } from '../db/connection';
import type { CaseStatus, Database, HoldReason } from '../db/schema';

/**
 * The staff case list: filters, a free-text search and pages. Newest first means highest id
 * first: ids follow creation, and ordering by id lets the primary key (or `cases_status_created`
 * under a status filter) deliver a page without sorting every match.
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
  return eb.and(all);
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

export async function searchCases(db: DbOrTx, filter: CaseSearchFilter, request: PageRequest = {}): Promise<CaseSearchResult> {
  return searchCasesWhere(db, undefined, filter, request);
}

/** searchCases within a restriction: only cases it holds for are counted, paged and listed. */
export async function searchCasesWhere(db: DbOrTx, restriction: CaseRestriction | undefined, filter: CaseSearchFilter, request: PageRequest = {}): Promise<CaseSearchResult> {
  const counted = await base(db, filter, restriction).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  const total = Number(counted.n);
  const { page, pages, size } = normalisePage(request, total);
  if (total === 0) return { rows: [], total, page, pages, size };
  const rows = await base(db, filter, restriction)
    .select([
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
    ])
    .orderBy('c.id', 'desc')
    .limit(size)
    .offset((page - 1) * size)
    .execute();
  return {
    rows: rows.map((r) => ({
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
    })),
    total,
    page,
    pages,
    size,
  };
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
