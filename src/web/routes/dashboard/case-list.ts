import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { caseEventsAfter, latestCaseEventId } from '../../../cases/event-feed';
import { CASE_STATUSES } from '../../../cases/repository';
import { listFilterOptions, searchCases, type CaseSearchFilter } from '../../../cases/search';
import type { CaseStatus, HoldReason } from '../../../db/schema';
import { DomainError } from '../../../errors';
import { HOLD_REASONS } from '../../../ops/overview';
import { CASE_FEED_DEFAULTS, CaseFeed, missedEvents, type CaseFeedSubscriber } from '../../case-feed';
import { CASE_VIEWS, caseListData, caseRowsData } from '../../dashboard/case-views';
import { DASHBOARD_HEADERS } from '../../security-headers';
import type { WebDeps } from '../../deps';
import type { StaffAuth } from '../../staff-auth';

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const listQuery = z.object({
  view: z.preprocess(blankToUndefined, z.enum(CASE_VIEWS).optional()),
  status: z.preprocess(blankToUndefined, z.enum(CASE_STATUSES as [CaseStatus, ...CaseStatus[]]).optional()),
  hold: z.preprocess(blankToUndefined, z.enum(HOLD_REASONS as [HoldReason, ...HoldReason[]]).optional()),
  company: z.preprocess(blankToUndefined, z.string().max(200).optional()),
  infrastructure: z.preprocess(blankToUndefined, z.string().max(200).optional()),
  requester: z.preprocess(blankToUndefined, z.string().max(320).optional()),
  q: z.preprocess(blankToUndefined, z.string().max(200).optional()),
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  /** `rows`: only the table's rows (the live script swaps them in), the total in X-Case-Total. */
  fragment: z.preprocess(blankToUndefined, z.literal('rows').optional()),
});

function invalid(error: z.ZodError): DomainError {
  return new DomainError('invalid_input', 'invalid query', error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
}

/** What the module uses of the web's dependencies. */
export const CASE_LIST_DEPS = ['db', 'pages', 'caseFeed', 'log'] as const;
export type CaseListDeps = Pick<WebDeps, (typeof CASE_LIST_DEPS)[number]>;

/** The case list and its live updates. */
export function registerCaseListRoutes(app: FastifyInstance, deps: CaseListDeps, auth: StaffAuth): void {
  app.get('/dashboard/cases', async (request, reply) => {
    const parsed = listQuery.safeParse(request.query);
    if (!parsed.success) throw invalid(parsed.error);
    const { fragment, ...q } = parsed.data;
    const staff = request.staff!;
    const filter: CaseSearchFilter = {
      status: q.status,
      holdReason: q.hold,
      companyKey: q.company,
      infrastructureKey: q.infrastructure,
      requester: q.requester,
      q: q.q,
      assigneeId: q.view === 'mine' ? staff.id : undefined,
      unassigned: q.view === 'unassigned',
      escalated: q.view === 'escalated',
    };
    const viewer = { staffId: staff.id };
    if (fragment === 'rows') {
      const result = await searchCases(deps.db, filter, { page: q.page }, viewer);
      return reply.headers(DASHBOARD_HEADERS).header('x-case-total', String(result.total)).send(deps.pages.fragment('dashboard/case-rows', caseRowsData(result)));
    }
    // Read before the list: an event after it reaches the page over the live stream.
    const liveAfter = await latestCaseEventId(deps.db);
    const [result, options] = await Promise.all([searchCases(deps.db, filter, { page: q.page }, viewer), listFilterOptions(deps.db)]);
    const section = q.status === 'suspended' && !q.view ? 'held' : 'cases';
    return reply.headers(DASHBOARD_HEADERS).send(deps.pages.renderDashboard('dashboard/cases', section === 'held' ? 'Held cases' : 'Cases', auth.frame(request, section), caseListData(result, options, q, liveAfter)));
  });

  registerCaseLiveRoute(app, deps, auth);
}

/**
 * Server-sent events for open case lists: `event: case` with the case's reference and the
 * event's kind for every new case event (never its detail), `event: stale` when the client
 * missed some before it connected, and a heartbeat comment. One feed per process (CaseFeed).
 */
function registerCaseLiveRoute(app: FastifyInstance, deps: CaseListDeps, auth: StaffAuth): void {
  const options = { ...CASE_FEED_DEFAULTS, ...deps.caseFeed };
  const feed = new CaseFeed({ latestId: () => latestCaseEventId(deps.db), after: (id, limit) => caseEventsAfter(deps.db, id, limit) }, deps.log.child({ component: 'case-feed' }), options);
  // preClose ends the streams (the server waits for open connections before onClose runs);
  // onClose makes sure the poller is stopped whichever way the server closed.
  app.addHook('preClose', async () => feed.close());
  app.addHook('onClose', async () => feed.close());

  app.get<{ Querystring: { after?: string } }>('/dashboard/cases/live', async (request, reply) => {
    const res = reply.raw;
    let open = false;
    const held: string[] = [];
    let leave = () => {};
    const end = () => {
      leave();
      if (!res.writableEnded) res.end();
    };
    const subscriber: CaseFeedSubscriber = {
      write: (chunk) => (open ? res.write(chunk) : held.push(chunk)),
      heartbeat: async () => {
        if (!(await auth.stillSignedIn(request))) end();
      },
      end,
    };
    const joined = await feed.subscribe(subscriber);
    if (!joined) {
      return reply.status(503).header('retry-after', '30').header('cache-control', 'no-store').send({ error: 'unavailable', message: 'too many live case lists are open on this server; reload later' });
    }
    leave = joined.unsubscribe;
    reply.hijack();
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    open = true;
    request.raw.on('close', end);
    res.write(`retry: ${Math.max(1000, options.pollMs * 5)}\n\n`);
    // A reconnect says what it saw (Last-Event-ID); a first connect, what the page was read at.
    const seen = request.headers['last-event-id'] ?? request.query.after;
    if (missedEvents(typeof seen === 'string' ? seen : undefined, joined.position)) res.write('event: stale\ndata: {}\n\n');
    for (const chunk of held.splice(0)) res.write(chunk);
  });
}
