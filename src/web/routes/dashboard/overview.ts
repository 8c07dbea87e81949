import type { FastifyInstance } from 'fastify';
import { loadOverview } from '../../../ops/overview';
import { intakeAlert, overviewData, type QueueCountsView } from '../../dashboard/overview-view';
import { type PageData } from '../../pages';
import { DASHBOARD_HEADERS } from '../../security-headers';
import type { WebDeps } from '../../deps';
import type { StaffAuth } from '../../staff-auth';
import { errorMessage } from '../../../errors';

/** How often an open overview gets new numbers; tests shorten it. */
const DEFAULT_REFRESH_MS = 5000;

/** What the module uses of the web's dependencies. */
export const OVERVIEW_DEPS = ['db', 'pages', 'health', 'queues', 'intakeAlertAfterMs', 'liveRefreshMs'] as const;
export type OverviewDeps = Pick<WebDeps, (typeof OVERVIEW_DEPS)[number]>;

export function registerOverviewRoutes(app: FastifyInstance, deps: OverviewDeps, auth: StaffAuth): void {
  const refreshMs = deps.liveRefreshMs ?? DEFAULT_REFRESH_MS;

  async function liveData(): Promise<PageData> {
    const now = new Date();
    const [overview, health, queues] = await Promise.all([
      loadOverview(deps.db),
      deps.health(),
      deps.queues ? deps.queues.counts().then((c) => c as QueueCountsView, () => null) : Promise.resolve(null),
    ]);
    return overviewData(overview, health, queues, intakeAlert(health, overview, deps.intakeAlertAfterMs, now), now);
  }

  app.get('/dashboard', async (request, reply) => {
    return reply.headers(DASHBOARD_HEADERS).send(deps.pages.renderDashboard('dashboard/overview', 'Overview', auth.frame(request, 'overview'), await liveData()));
  });

  // Server-sent events: the overview's live part, re-rendered on the server every few seconds.
  // The stream ends when the session does (checked at each tick) or the server closes.
  const streams = new Set<() => void>();
  // preClose, not onClose: the server waits for open connections before onClose runs.
  app.addHook('preClose', async () => {
    for (const end of streams) end();
  });
  app.get('/dashboard/events', async (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    let timer: NodeJS.Timeout | undefined;
    const end = () => {
      clearTimeout(timer);
      streams.delete(end);
      res.end();
    };
    streams.add(end);
    request.raw.on('close', end);
    const tick = async () => {
      try {
        if (!(await auth.stillSignedIn(request))) return end();
        const html = deps.pages.fragment('dashboard/overview-live', await liveData());
        res.write(`event: overview\n${html.split('\n').map((line) => `data: ${line}`).join('\n')}\n\n`);
      } catch (err) {
        request.log.warn({ err: errorMessage(err) }, 'overview refresh failed');
        res.write(': refresh failed, retrying\n\n');
      }
      if (streams.has(end)) timer = setTimeout(() => void tick(), refreshMs);
    };
    res.write(`retry: ${refreshMs}\n\n`);
    timer = setTimeout(() => void tick(), refreshMs);
  });
}
