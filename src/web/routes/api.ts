import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { approvalSummary } from '../../approvals/repository';
import { CASE_STATUSES, getCaseByReference, listCases } from '../../cases/repository';
import type { CaseStatus } from '../../db/schema';
import { DomainError } from '../../errors';
import type { WebDeps } from '../server';

// Hash both sides so the comparison takes the same time whatever the lengths.
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  return match?.[1]?.trim() ?? null;
}

const listQuery = z.object({
  status: z.enum(CASE_STATUSES as [CaseStatus, ...CaseStatus[]]).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export async function registerApiRoutes(api: FastifyInstance, deps: WebDeps): Promise<void> {
  api.addHook('onRequest', async (request, reply) => {
    const token = bearer(request);
    if (!token || !sameSecret(token, deps.apiToken)) {
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

  api.get<{ Params: { reference: string } }>('/cases/:reference', async (request) => {
    const found = await getCaseByReference(deps.db, request.params.reference);
    if (!found) throw new DomainError('not_found', `no case ${request.params.reference}`);
    const { approvalId, ...rest } = found;
    return { ...rest, approval: approvalId ? await approvalSummary(deps.db, approvalId) : null };
  });
}
