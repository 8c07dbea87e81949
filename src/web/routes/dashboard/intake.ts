import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DomainError } from '../../../errors';
import { listStored, loadRawMessage, retryQuarantined } from '../../../intake/quarantine';
import { humanBytes, when } from '../../dashboard/words';
import { DASHBOARD_HEADERS } from '../../security-headers';
import type { WebDeps } from '../../deps';
import type { StaffAuth } from '../../staff-auth';

const PAGE = 100;
const query = z.object({
  view: z.enum(['quarantined', 'kept']).default('quarantined'),
  kind: z.preprocess((v) => (v === '' ? undefined : v), z.string().regex(/^[a-z_]{1,40}$/).optional()),
  before: z.preprocess((v) => (v === '' ? undefined : v), z.string().regex(/^\d{1,19}$/).optional()),
  retried: z.string().max(40).optional(),
});

const RETRY_WORDS: Record<string, string> = {
  case: 'The message became a case.',
  reply: 'The message was added to its case.',
  kept: 'The message was recognised as automatic mail and kept.',
  quarantined: 'The message is still quarantined; its error is updated below.',
  duplicate: 'The message was already taken in.',
};

/** What the module uses of the web's dependencies. */
export const INTAKE_ROUTE_DEPS = ['db', 'pages', 'intake', 'log'] as const;
export type IntakeRouteDeps = Pick<WebDeps, (typeof INTAKE_ROUTE_DEPS)[number]>;

/** The messages that are not cases: the quarantine (with the error) and kept automatic mail. */
export function registerIntakeRoutes(app: FastifyInstance, deps: IntakeRouteDeps, auth: StaffAuth): void {
  app.get('/dashboard/intake', async (request, reply) => {
    const parsed = query.safeParse(request.query);
    if (!parsed.success) throw new DomainError('invalid_input', 'invalid query', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
    const q = parsed.data;
    const rows = await listStored(deps.db, { status: q.view, kind: q.kind, limit: PAGE, beforeId: q.before });
    const last = rows.length === PAGE ? rows[rows.length - 1] : undefined;
    return reply.headers(DASHBOARD_HEADERS).send(
      deps.pages.renderDashboard('dashboard/intake', q.view === 'kept' ? 'Automatic mail' : 'Quarantine', auth.frame(request, 'intake'), {
        quarantined: q.view === 'quarantined',
        kind: q.kind ?? null,
        retried: q.retried && RETRY_WORDS[q.retried] ? RETRY_WORDS[q.retried] : null,
        rows: rows.map((r) => ({ ...r, received: when(r.receivedAt), size: humanBytes(r.size), what: r.kind ?? r.error ?? '—' })),
        older: last ? `/dashboard/intake?view=${q.view}${q.kind ? `&kind=${q.kind}` : ''}&before=${last.id}` : null,
      }),
    );
  });

  app.get<{ Params: { id: string } }>('/dashboard/intake/:id/raw', async (request, reply) => {
    const found = await loadRawMessage(deps.db, request.params.id);
    if (!found) throw new DomainError('not_found', `no quarantined or kept message ${request.params.id}`);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="message-${request.params.id}.eml"`)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'no-store')
      .send(found.raw);
  });

  const intake = deps.intake;
  if (!intake) return;
  app.post<{ Params: { id: string } }>('/dashboard/intake/:id/retry', async (request, reply) => {
    const result = await retryQuarantined(intake, request.params.id);
    if (!result) throw new DomainError('not_found', `no quarantined message ${request.params.id}`);
    deps.log.info({ event: 'quarantine_retried', rawId: request.params.id, outcome: result.outcome, staff: request.staff?.email, case: 'reference' in result ? result.reference : undefined }, 'quarantined message retried');
    if (result.outcome === 'case' || result.outcome === 'reply') return reply.redirect(`/dashboard/cases/${encodeURIComponent(result.reference)}`, 303);
    return reply.redirect(`/dashboard/intake?view=quarantined&retried=${result.outcome}`, 303);
  });
}
