import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listCases } from '../../cases/api-view';
import { CASE_STATUSES } from '../../cases/repository';
import type { CaseStatus } from '../../db/schema';
import { DomainError } from '../../errors';
import { listQuarantine, listStored, loadRawMessage, retryQuarantined } from '../../intake/quarantine';
import { bearerToken, sameSecret } from '../auth';
import type { WebDeps } from '../deps';
import { pick } from '../pick';
import { CASEWORK_API_DEPS, caseJson, registerCaseworkApi } from './api-casework';
import { registerEventsApi } from './api-events';

const listQuery = z.object({
  status: z.enum(CASE_STATUSES as [CaseStatus, ...CaseStatus[]]).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const quarantineQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.string().regex(/^\d{1,19}$/).optional(),
});

/** What the module uses of the web's dependencies, its casework routes' included. */
export const API_DEPS = ['apiToken', 'db', 'relayEvents', 'intake', ...CASEWORK_API_DEPS] as const;
export type ApiDeps = Pick<WebDeps, (typeof API_DEPS)[number]>;

export async function registerApiRoutes(api: FastifyInstance, deps: ApiDeps): Promise<void> {
  api.addHook('onRequest', async (request, reply) => {
    const token = bearerToken(request.headers.authorization);
    // A signed-in staff member may read the API from the browser; changes need the token, so a
    // cross-site form can never act with the staff cookie.
    const staffRead = request.staff !== null && (request.method === 'GET' || request.method === 'HEAD');
    if (!staffRead && (!token || !sameSecret(token, deps.apiToken))) {
      return reply.status(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid API token is required' });
    }
  });

  api.get('/cases', async (request) => {
    const parsed = listQuery.safeParse(request.query);
    if (!parsed.success) {
      throw new DomainError('invalid_input', 'invalid query', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
    }
    return { cases: await listCases(deps.db, parsed.data) };
  });

  api.get<{ Params: { reference: string } }>('/cases/:reference', async (request) => caseJson(deps, request.params.reference));

  // Replies, notes, assignment and status (api-casework.ts), behind the same token.
  registerCaseworkApi(api, pick(deps, CASEWORK_API_DEPS));
  registerEventsApi(api, deps.db, deps.relayEvents);

  // Messages that could not become a case, newest first; `before` (an id) pages on.
  api.get('/quarantine', async (request) => {
    const parsed = quarantineQuery.safeParse(request.query);
    if (!parsed.success) {
      throw new DomainError('invalid_input', 'invalid query', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
    }
    return { messages: await listQuarantine(deps.db, { limit: parsed.data.limit, beforeId: parsed.data.before }) };
  });

  // Automatic mail kept without a case (bounces, auto-replies, reports, list mail, approval replies).
  api.get('/automatic', async (request) => {
    const parsed = quarantineQuery.extend({ kind: z.string().regex(/^[a-z_]+$/).optional() }).safeParse(request.query);
    if (!parsed.success) {
      throw new DomainError('invalid_input', 'invalid query', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
    }
    return { messages: await listStored(deps.db, { status: 'kept', kind: parsed.data.kind, limit: parsed.data.limit, beforeId: parsed.data.before }) };
  });

  // The stored bytes of a quarantined or kept message (the only copy of one that is not a case).
  // A message that became a case is read through /api/cases, so its raw copy answers 404 here,
  // like an unknown id.
  api.get<{ Params: { id: string } }>('/quarantine/:id/raw', async (request, reply) => {
    const found = await loadRawMessage(deps.db, request.params.id);
    if (!found) throw new DomainError('not_found', `no quarantined or kept message ${request.params.id}`);
    return reply
      .header('content-type', 'message/rfc822')
      .header('content-disposition', `attachment; filename="message-${request.params.id}.eml"`)
      .header('x-content-type-options', 'nosniff')
      .send(found.raw);
  });

  // Retrying needs the intake dependencies (the job queue); the server only offers it when the
  // caller passed them (src/app.ts does).
  const intake = deps.intake;
  if (intake) {
    api.post<{ Params: { id: string } }>('/quarantine/:id/retry', async (request) => {
      const result = await retryQuarantined(intake, request.params.id);
      if (!result) throw new DomainError('not_found', `no quarantined message ${request.params.id}`);
      switch (result.outcome) {
        case 'case':
          return { outcome: 'case', reference: result.reference };
        case 'quarantined':
          return { outcome: 'quarantined', error: result.error };
        case 'kept':
          return { outcome: 'kept', kind: result.kind };
        default:
          // Another process took the message in at the same moment.
          return { outcome: result.outcome };
      }
    });
  }
}
