import type { DeliveryStatus } from '../../db/schema-events';
import { eventId } from '../../events/feed';
import type { DeliveryRow } from '../../webhooks/deliveries';
import type { EndpointSummary } from '../../webhooks/endpoints';
import type { PageData } from '../pages';
import { when } from './words';

export const DELIVERY_STATUSES = ['failed', 'pending', 'delivered'] as const satisfies readonly DeliveryStatus[];

/** The newest this many deliveries of an endpoint are shown (a status filter reaches others). */
export const DELIVERY_PAGE = 100;

/** What a redelivery's redirect may say; anything else in `?notice=` is ignored. */
export const WEBHOOK_NOTICES: Record<string, { ok: boolean; text: string }> = {
  redelivered: { ok: true, text: 'The delivery is pending again: it is sent now, ahead of its stream’s later events, with the same event id (a receiver that kept it sees a duplicate). It is listed under Pending until it goes.' },
  already_pending: { ok: false, text: 'That delivery is already pending: it is sent, or retried, on its own. Nothing was changed.' },
};

const STATUS_WORDS: Record<DeliveryStatus, string> = { pending: 'pending', delivered: 'delivered', failed: 'failed (given up)' };

const eventTypes = (types: string[] | null) => (types ? types.join(', ') : 'all');
const endpointHref = (id: string) => `/dashboard/webhooks/${id}`;

function endpointData(e: EndpointSummary): PageData {
  return { ...e, href: endpointHref(e.id), types: eventTypes(e.eventTypes), lastDelivered: e.lastDeliveredAt ? when(e.lastDeliveredAt) : 'never', added: when(e.createdAt), total: e.pending + e.failed + e.delivered };
}

/** The endpoints page: each endpoint's counts; its secret is never read (listEndpoints leaves it sealed). */
export function endpointsData(endpoints: EndpointSummary[]): PageData {
  return { endpoints: endpoints.map(endpointData) };
}

/** What the receiver answered last: its status, "no answer" (refused, timed out), or nothing yet. */
function lastAnswer(d: DeliveryRow): string {
  if (d.lastStatus !== null) return String(d.lastStatus);
  return d.attempts > 0 ? 'no answer' : '—';
}

function deliveryData(d: DeliveryRow): PageData {
  return {
    id: d.id,
    event: eventId(d.eventId),
    type: d.type,
    caseReference: d.caseReference,
    caseHref: d.caseReference ? `/dashboard/cases/${encodeURIComponent(d.caseReference)}` : null,
    status: d.status,
    statusWords: STATUS_WORDS[d.status],
    attempts: d.attempts,
    lastAttempt: when(d.lastAttemptAt),
    lastAnswer: lastAnswer(d),
    lastError: d.lastError ?? '—',
    // A pending row's next attempt; a sent or given-up one has none.
    nextAttempt: d.status === 'pending' ? when(d.nextAttemptAt) : null,
    // A pending row is on its way already (redeliver would not change it).
    canRedeliver: d.status !== 'pending',
  };
}

/** One endpoint's page: its counts, the status filter's tabs, the newest deliveries, the notice. */
export function endpointPageData(e: EndpointSummary, rows: DeliveryRow[], filter: DeliveryStatus | undefined, notice: string | undefined): PageData {
  const counts: Record<DeliveryStatus, number> = { pending: e.pending, failed: e.failed, delivered: e.delivered };
  const base = endpointHref(e.id);
  return {
    endpoint: endpointData(e),
    filter: filter ?? '',
    filterWords: filter ? STATUS_WORDS[filter] : null,
    tabs: [
      { label: 'All', count: e.pending + e.failed + e.delivered, href: base, current: !filter },
      ...DELIVERY_STATUSES.map((s) => ({ label: s[0]!.toUpperCase() + s.slice(1), count: counts[s], href: `${base}?status=${s}`, current: filter === s })),
    ],
    rows: rows.map(deliveryData),
    // Fewer rows than the page: that was all of them.
    cut: rows.length >= DELIVERY_PAGE ? DELIVERY_PAGE : null,
    notice: notice && WEBHOOK_NOTICES[notice] ? WEBHOOK_NOTICES[notice] : null,
  };
}
