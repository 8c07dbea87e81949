import type { CaseDetailView, TrailEntry } from '../../cases/detail';
import { CASE_STATUSES } from '../../cases/repository';
import type { FilterOptions, StaffCaseSearchResult } from '../../cases/search';
import type { HoldReason } from '../../db/schema';
import { HOLD_REASONS } from '../../ops/overview';
import type { PageData } from '../pages';
import { HOLD_WORDS, humanBytes, MESSAGE_HOLD_WORDS, STATUS_WORDS, when, whenText } from './words';

/** What a staff action's redirect may say; anything else in `?notice=` is ignored. */
export const NOTICES: Record<string, { ok: boolean; text: string }> = {
  approval_resent: { ok: true, text: 'The approval request was mailed to the administrators again.' },
  approval_authorized: { ok: true, text: 'Authorized on the customer’s behalf: the requester is now a member and their held cases are open.' },
  approval_ignored: { ok: true, text: 'Ignored on the customer’s behalf: the request’s held cases are closed as ignored.' },
  case_released_by_staff: { ok: true, text: 'The case is open. No permission was granted.' },
  case_ignored_by_staff: { ok: true, text: 'The case is ignored.' },
  case_routed: { ok: true, text: 'The case was routed; it was decided as matching would for that infrastructure.' },
  capped: { ok: false, text: 'The company’s hourly cap on approval mail held the resend back; try again later.' },
  no_pending_approval: { ok: false, text: 'This case has no pending approval to act on.' },
  no_approvers: { ok: false, text: 'The infrastructure has no administrator to mail.' },
  not_held: { ok: false, text: 'The case is no longer held; nothing was changed.' },
  already_decided: { ok: false, text: 'Someone decided this approval first; nothing was changed.' },
  not_unrouted: { ok: false, text: 'Only an unrouted case can be routed.' },
  unknown_infrastructure: { ok: false, text: 'No such infrastructure.' },
  other_company: { ok: false, text: 'That infrastructure belongs to another company than the case’s; nothing was changed.' },
  replied: { ok: true, text: 'Your reply is on its way to the requester.' },
  noted: { ok: true, text: 'Internal note added: it is never mailed nor shown to customers.' },
  assigned: { ok: true, text: 'The assignee was changed.' },
  status_changed: { ok: true, text: 'The status was changed.' },
  unchanged: { ok: true, text: 'It already was so; nothing was changed.' },
  done: { ok: true, text: 'Done.' },
};

const statusBadge = (status: string) => ({ status, words: STATUS_WORDS[status as keyof typeof STATUS_WORDS] ?? status });

/** The list's quick views; `pending` is the status filter, the rest are `view=`. */
const QUICK_VIEWS: Array<{ label: string; query: string }> = [
  { label: 'All cases', query: '' },
  { label: 'Mine', query: 'view=mine' },
  { label: 'Unassigned', query: 'view=unassigned' },
  { label: 'Escalated', query: 'view=escalated' },
  { label: 'Pending', query: 'status=pending' },
];

export const CASE_VIEWS = ['mine', 'unassigned', 'escalated'] as const;
export type CaseView = (typeof CASE_VIEWS)[number];
const VIEW_WORDS: Record<CaseView, string> = { mine: 'assigned to me', unassigned: 'unassigned (open or pending)', escalated: 'escalated' };

/** The list's query as the page keeps it (page links, the rows the live script re-fetches). */
export function listUrl(q: Record<string, string | number | undefined>, changes: Record<string, string | number | undefined> = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...q, ...changes })) if (v !== undefined && v !== '' && k !== 'fragment') p.set(k, String(v));
  const query = p.toString();
  return query ? `/dashboard/cases?${query}` : '/dashboard/cases';
}

/** The table's rows: the page shows them, and the live script swaps in a fresh copy. */
export function caseRowsData(result: StaffCaseSearchResult): PageData {
  return {
    rows: result.rows.map((r) => ({
      ...r,
      ...statusBadge(r.status),
      hold: r.holdReason ? HOLD_WORDS[r.holdReason] : null,
      escalated: r.escalatedAt ? whenText(r.escalatedAt) : null,
      assignee: r.assigneeEmail,
      created: when(r.createdAt),
      where: [r.companyName, r.infrastructureName].filter(Boolean).join(' / ') || '—',
    })),
  };
}

/** `liveAfter`: the newest case event when the page was read; the live stream catches up from there. */
export function caseListData(result: StaffCaseSearchResult, options: FilterOptions, q: Record<string, string | number | undefined>, liveAfter: string): PageData {
  const onlyFilters = { ...q, page: undefined };
  const current = new URLSearchParams(listUrl(onlyFilters).split('?')[1] ?? '').toString();
  return {
    heading: q.status === 'suspended' ? 'Held cases' : 'Cases',
    ...caseRowsData(result),
    total: result.total,
    page: result.page,
    pages: result.pages,
    prev: result.page > 1 ? listUrl(q, { page: result.page - 1 }) : null,
    next: result.page < result.pages ? listUrl(q, { page: result.page + 1 }) : null,
    rowsUrl: `${listUrl(q, { page: result.page })}&fragment=rows`,
    liveUrl: `/dashboard/cases/live?after=${encodeURIComponent(liveAfter)}`,
    quickViews: QUICK_VIEWS.map((v) => ({ ...v, href: v.query ? `/dashboard/cases?${v.query}` : '/dashboard/cases', current: v.query === current })),
    filter: { status: q.status ?? '', hold: q.hold ?? '', company: q.company ?? '', infrastructure: q.infrastructure ?? '', requester: q.requester ?? '', q: q.q ?? '' },
    views: CASE_VIEWS.map((v) => ({ value: v, words: VIEW_WORDS[v], selected: q.view === v })),
    statuses: CASE_STATUSES.map((s) => ({ value: s, words: STATUS_WORDS[s], selected: q.status === s })),
    holds: HOLD_REASONS.map((h) => ({ value: h, words: HOLD_WORDS[h], selected: q.hold === h })),
    companies: options.companies.map((c) => ({ ...c, selected: q.company === c.key })),
    infrastructures: options.infrastructures.map((i) => ({ ...i, selected: q.infrastructure === i.key })),
  };
}

function trailRow(e: TrailEntry): PageData {
  const detail = Object.entries(e.detail)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('; ');
  return { at: when(e.at), actor: e.actor, channel: e.channel ?? '—', action: e.action.replace(/_/g, ' '), detail };
}

export function caseDetailData(c: CaseDetailView, options: FilterOptions, notice: string | undefined): PageData {
  const approvalPending = c.approval?.status === 'pending';
  const held = c.status === 'suspended';
  return {
    notice: notice && NOTICES[notice] ? NOTICES[notice] : null,
    c: {
      ...c,
      ...statusBadge(c.status),
      hold: c.holdReason ? HOLD_WORDS[c.holdReason as HoldReason] : null,
      created: when(c.createdAt),
      decided: c.decidedAt ? when(c.decidedAt) : '—',
      verified: c.senderVerified === null ? 'not checked' : c.senderVerified ? 'yes' : 'no',
      where: [c.companyName, c.infrastructureName].filter(Boolean).join(' / ') || 'not routed',
    },
    messages: c.messages.map((m, i) => ({
      ...m,
      n: i + 1,
      received: when(m.receivedAt),
      to: m.recipients.join(', '),
      held: m.holdReason ? { reason: m.holdReason, words: MESSAGE_HOLD_WORDS[m.holdReason] } : null,
      htmlUrl: m.hasHtml ? `/dashboard/messages/${m.id}/html` : null,
      attachments: m.attachments.map((a) => ({ ...a, name: a.filename ?? `attachment-${a.id}`, size: humanBytes(a.size), url: `/dashboard/attachments/${a.id}` })),
    })),
    participants: c.participants.map((p) => ({ email: p.email, added: when(p.addedAt) })),
    approval: c.approval
      ? { ...c.approval, created: when(c.approval.createdAt), expires: when(c.approval.expiresAt), decided: c.approval.decidedAt ? when(c.approval.decidedAt) : null, approverList: c.approval.approvers.join(', ') || 'nobody', history: c.approval.history.map(trailRow) }
      : null,
    trail: c.trail.map(trailRow),
    actions: {
      held,
      resend: held && approvalPending,
      decide: held,
      decideWords: approvalPending ? 'Decides the approval request as the administrators would (authorize makes the requester a member).' : 'Opens or ignores this case only; no permission is granted.',
      route: held && c.holdReason === 'unrouted',
    },
    infrastructures: options.infrastructures,
    // A case whose company is known goes to one of that company's infrastructures; nothing is
    // preselected, so routing is always a choice.
    routeTargets: options.infrastructures.filter((i) => !c.companyKey || i.companyKey === c.companyKey),
  };
}
