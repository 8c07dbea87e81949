import type { Overview } from '../../ops/overview';
import type { HealthReport } from '../routes/health';
import { hourlyChart, intakeAlert } from './overview-view';
import { ago } from './words';

const NOW = new Date('2026-11-23T12:00:00Z');
const FIVE_MIN = 5 * 60_000;

function overview(p95Seconds: number | null): Overview {
  return {
    asOf: NOW.toISOString(),
    cases: { byStatus: { new: 0, open: 0, pending: 0, solved: 0, closed: 0, suspended: 0, ignored: 0 }, suspendedByHoldReason: { unknown_sender: 0, not_permitted: 0, unrouted: 0, rate_limited: 0, sender_not_verified: 0, too_large: 0 }, total: 0 },
    last24h: [],
    approvals: { pending: 0, oldestCreatedAt: null, oldestAgeSeconds: null, expiringWithin24h: 0, nextExpiresAt: null },
    intake: { backlog: 0, lastReceivedAt: null, quarantined: 0, keptLast24h: 0, lagLastHour: { decided: 1, p50Seconds: p95Seconds, p95Seconds } },
    outbox: { pending: 0, failed: 0, bounced: 0 },
  };
}

function health(state: string, sinceMsAgo: number, extra: Partial<HealthReport> = {}): HealthReport {
  const mailbox = state === 'disabled' ? ({ state: 'disabled' } as const) : { state, mode: 'idle', lastSyncAt: null, lastMessageAt: null, lastError: 'ECONNREFUSED', stateSince: new Date(NOW.getTime() - sinceMsAgo).toISOString() };
  return { status: 'ok', database: 'up', redis: 'up', mailbox, ...extra };
}

describe('intakeAlert', () => {
  it('stays green while connected, in standby, or without a mailbox', () => {
    for (const state of ['connected', 'standby', 'disabled']) expect(intakeAlert(health(state, 3_600_000), overview(1), FIVE_MIN, NOW).red).toBe(false);
  });

  it('forgives a short disconnection, turns red past the threshold and says since when and why', () => {
    expect(intakeAlert(health('disconnected', FIVE_MIN - 1000), overview(1), FIVE_MIN, NOW).red).toBe(false);
    const alert = intakeAlert(health('disconnected', FIVE_MIN + 1000), overview(1), FIVE_MIN, NOW);
    expect(alert.red).toBe(true);
    expect(alert.reasons[0]).toMatch(/^the mailbox has been disconnected since 23 Nov 2026, 11:54:59 UTC \(ECONNREFUSED\)$/);
  });

  it('turns red at once when the mailbox cannot log in, with the reason in words', () => {
    const report = health('auth_failed', 1000);
    if ('mode' in report.mailbox) report.mailbox.lastError = 'Microsoft refused the client secret (AADSTS7000215): set OAUTH_CLIENT_SECRET to the secret\'s Value';
    const alert = intakeAlert(report, overview(1), FIVE_MIN, NOW);
    expect(alert.red).toBe(true);
    expect(alert.reasons[0]).toMatch(/^the mailbox cannot log in \(since 23 Nov 2026, 11:59:59 UTC\): Microsoft refused the client secret \(AADSTS7000215\)/);
  });

  it('turns red when decisions lag past the threshold, or PostgreSQL or Redis is down', () => {
    expect(intakeAlert(health('connected', 0), overview(299), FIVE_MIN, NOW).red).toBe(false);
    expect(intakeAlert(health('connected', 0), overview(301), FIVE_MIN, NOW).reasons).toEqual(["decisions lag: 95% of the last hour's cases took up to 5 min"]);
    expect(intakeAlert(health('connected', 0, { redis: 'down' }), overview(null), FIVE_MIN, NOW).reasons).toEqual(['Redis is unreachable: no case is being matched']);
  });
});

describe('hourlyChart', () => {
  it('draws one bar group per hour, scaled to the busiest hour, from numbers only', () => {
    const buckets = Array.from({ length: 24 }, (_, i) => ({ hourStart: `2026-11-23T${String(i).padStart(2, '0')}:00:00.000Z`, open: i === 23 ? 4 : 0, suspended: i === 23 ? 4 : i === 0 ? 2 : 0, ignored: 0, new: 0, total: i === 23 ? 8 : i === 0 ? 2 : 0 }));
    const svg = hourlyChart(buckets);
    expect(svg.match(/<g>/g)).toHaveLength(24);
    expect(svg).toContain('aria-label="Cases per hour over the last 24 hours (highest 8)"');
    expect(svg).toContain('<title>23:00 UTC: 8 cases (4 open, 4 held, 0 ignored, 0 new)</title>');
    expect(svg).not.toMatch(/style=/);
  });
});

describe('ago', () => {
  it('says durations the way people do', () => {
    expect([ago(5), ago(89), ago(600), ago(3 * 3600 + 300), ago(50 * 3600)]).toEqual(['5 s', '89 s', '10 min', '3 h 5 min', '2 d 2 h']);
  });
});
