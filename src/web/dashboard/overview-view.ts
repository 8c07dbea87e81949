import type { HoldReason } from '../../db/schema';
import type { HourBucket, Overview } from '../../ops/overview';
import type { HealthReport } from '../routes/health';
import type { PageData } from '../pages';
import { ago, HOLD_WORDS, when, whenText } from './words';

export interface QueueCountsView {
  [queue: string]: { waiting: number; active: number; failed: number; delayed: number };
}

export interface IntakeAlert {
  red: boolean;
  /** Why it is red, in words, first the most urgent; empty when all is well. */
  reasons: string[];
}

/**
 * When intake needs a person: the mailbox (when there is one) disconnected for longer than the
 * threshold, the database or Redis down, or intake deciding cases more slowly than the threshold
 * (its own decision: administrators answering an approval later is people's time, not lag). A
 * mailbox that just reconnected, or one in standby behind another process's lease, is fine; one
 * whose credentials fail (`auth_failed`) is not, from the first failure.
 */
export function intakeAlert(health: HealthReport, overview: Overview, thresholdMs: number, now: Date): IntakeAlert {
  const reasons: string[] = [];
  if (health.database === 'down') reasons.push('PostgreSQL is unreachable');
  if (health.redis === 'down') reasons.push('Redis is unreachable: no case is being matched');
  const m = 'mode' in health.mailbox ? health.mailbox : null;
  if (m && m.state !== 'connected' && m.state !== 'standby') {
    const since = m.stateSince ? new Date(m.stateSince) : null;
    // Credentials that do not work will not mend by waiting: that alarm is raised at once.
    if (m.state === 'auth_failed') reasons.push(`the mailbox cannot log in (since ${since ? whenText(since) : 'start-up'}): ${m.lastError ?? 'its credentials are refused'}`);
    else if (!since || now.getTime() - since.getTime() >= thresholdMs) reasons.push(`the mailbox has been ${m.state} since ${since ? whenText(since) : 'start-up'}${m.lastError ? ` (${m.lastError})` : ''}`);
  }
  const lag = overview.intake.lagLastHour.p95Seconds;
  if (lag !== null && lag * 1000 >= thresholdMs) reasons.push(`decisions lag: 95% of the last hour's cases took up to ${ago(lag)}`);
  return { red: reasons.length > 0, reasons };
}

const CHART = { width: 720, height: 160, gap: 4, labelHeight: 18 } as const;
const SERIES = ['open', 'suspended', 'ignored', 'new'] as const;

/**
 * The last 24 hours as stacked bars, an SVG built from numbers only (nothing from mail), so it is
 * inserted as it is. Presentation attributes, no inline style: the page's CSP allows none.
 */
export function hourlyChart(buckets: HourBucket[]): string {
  const max = Math.max(1, ...buckets.map((b) => b.total));
  const slot = CHART.width / Math.max(1, buckets.length);
  const plot = CHART.height - CHART.labelHeight;
  const bars = buckets.map((b, i) => {
    let y = plot;
    const x = (i * slot + CHART.gap / 2).toFixed(1);
    const w = (slot - CHART.gap).toFixed(1);
    const hour = b.hourStart.slice(11, 16);
    const rects = SERIES.filter((s) => b[s] > 0).map((s) => {
      const h = (b[s] / max) * (plot - 4);
      y -= h;
      return `<rect class="${s}" x="${x}" y="${y.toFixed(1)}" width="${w}" height="${h.toFixed(1)}"></rect>`;
    });
    const label = i % 3 === 0 ? `<text x="${x}" y="${CHART.height - 4}" font-size="11" fill="#5b6576">${hour}</text>` : '';
    const title = `<title>${hour} UTC: ${b.total} cases (${b.open} open, ${b.suspended} held, ${b.ignored} ignored, ${b.new} new)</title>`;
    return `<g>${title}<rect x="${x}" y="0" width="${w}" height="${plot}" fill="transparent"></rect>${rects.join('')}${label}</g>`;
  });
  return `<svg viewBox="0 0 ${CHART.width} ${CHART.height}" role="img" aria-label="Cases per hour over the last 24 hours (highest ${max})"><line x1="0" y1="${plot}" x2="${CHART.width}" y2="${plot}" stroke="#d9dee7"></line>${bars.join('')}</svg>`;
}

/** Everything the overview's live part shows, as the template reads it. */
export function overviewData(overview: Overview, health: HealthReport, queues: QueueCountsView | null, alert: IntakeAlert, now: Date): PageData {
  const m = 'mode' in health.mailbox ? health.mailbox : null;
  const suspended = Object.entries(overview.cases.suspendedByHoldReason).map(([reason, count]) => ({ reason, words: HOLD_WORDS[reason as HoldReason], count, link: `/dashboard/cases?status=suspended&hold=${reason}` }));
  const oldest = overview.approvals.oldestAgeSeconds;
  return {
    asOf: when(now),
    red: alert.red,
    reasons: alert.reasons,
    cases: { ...overview.cases.byStatus, total: overview.cases.total },
    suspended,
    chart: hourlyChart(overview.last24h),
    last24hTotal: overview.last24h.reduce((n, b) => n + b.total, 0),
    approvals: {
      pending: overview.approvals.pending,
      oldest: oldest === null ? null : ago(oldest),
      oldestAt: overview.approvals.oldestCreatedAt ? when(new Date(overview.approvals.oldestCreatedAt)) : null,
      expiringWithin24h: overview.approvals.expiringWithin24h,
      nextExpiresAt: overview.approvals.nextExpiresAt ? when(new Date(overview.approvals.nextExpiresAt)) : null,
    },
    mailbox:
      m === null
        ? { configured: false }
        : { configured: true, state: m.state, mode: m.mode === 'idle' ? 'IDLE (push)' : m.mode === 'polling' ? 'polling' : '—', lastSync: m.lastSyncAt ? when(new Date(m.lastSyncAt)) : 'never', lastError: m.lastError },
    database: health.database,
    redis: health.redis,
    intake: {
      backlog: overview.intake.backlog,
      lastReceived: overview.intake.lastReceivedAt ? `${whenText(overview.intake.lastReceivedAt)} (${ago((now.getTime() - new Date(overview.intake.lastReceivedAt).getTime()) / 1000)} ago)` : 'nothing yet',
      quarantined: overview.intake.quarantined,
      keptLast24h: overview.intake.keptLast24h,
      decidedLastHour: overview.intake.lagLastHour.decided,
      lagP50: overview.intake.lagLastHour.p50Seconds === null ? '—' : ago(overview.intake.lagLastHour.p50Seconds),
      lagP95: overview.intake.lagLastHour.p95Seconds === null ? '—' : ago(overview.intake.lagLastHour.p95Seconds),
    },
    queues: queues ? Object.entries(queues).map(([name, c]) => ({ name, ...c })) : null,
    outbox: overview.outbox,
  };
}
