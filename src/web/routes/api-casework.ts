/**
 * Casework over the API (the token's routes, registered inside /api): reply to a case, write an
 * internal note, assign it or set its status. The domain (cases/work.ts) decides and writes each
 * change with its case event and its mail in one transaction; this edge validates the body,
 * queues the mail once the transaction committed, and answers with the case as GET shows it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { approvalSummary } from '../../approvals/repository';
import { getCaseByReference } from '../../cases/api-view';
import { heldBecause } from '../../cases/detail';
import { addNote, changeCase, replyToCase } from '../../cases/work';
import type { Actor } from '../../cases/work-common';
import { DomainError } from '../../errors';
import { afterReply, caseText as text, parseInput as parse, workStatus as status } from '../casework';
import type { WebDeps } from '../deps';

/** Whoever holds the API token; events and notes name it `api`. */
const API_ACTOR: Actor = { email: 'api', channel: 'api' };

const replyBody = z.object({ text, status: status.optional() }).strict();
const noteBody = z.object({ text }).strict();
const changeBody = z
  .object({ status: status.optional(), assignee: z.string().trim().min(1).nullable().optional() })
  .strict()
  .refine((b) => b.status !== undefined || b.assignee !== undefined, 'give status, assignee or both');

type Params = { Params: { reference: string } };

/** A case as GET /api/cases/:reference answers it. */
export async function caseJson(deps: Pick<WebDeps, 'db'>, reference: string) {
  const found = await getCaseByReference(deps.db, reference);
  if (!found) throw new DomainError('not_found', `no case ${reference}`);
  const { approvalId, ...rest } = found;
  const approval = approvalId ? await approvalSummary(deps.db, approvalId) : null;
  return { ...rest, approval, heldBecause: heldBecause(found.status, approval, null) };
}

/** What the module uses of the web's dependencies. */
export const CASEWORK_API_DEPS = ['db', 'casework', 'enqueueDeliveries', 'onFirstResponse'] as const;
export type CaseworkApiDeps = Pick<WebDeps, (typeof CASEWORK_API_DEPS)[number]>;

export function registerCaseworkApi(api: FastifyInstance, deps: CaseworkApiDeps): void {
  api.post<Params>('/cases/:reference/replies', async (request, reply) => {
    const body = parse(replyBody, request.body);
    const outcome = await replyToCase(deps.casework, request.params.reference, body, API_ACTOR);
    await afterReply(deps, outcome);
    return reply.status(201).send({ messageId: outcome.messageId, case: await caseJson(deps, request.params.reference) });
  });

  api.post<Params>('/cases/:reference/notes', async (request, reply) => {
    const body = parse(noteBody, request.body);
    const { noteId } = await addNote(deps.casework, request.params.reference, body.text, API_ACTOR);
    return reply.status(201).send({ noteId, case: await caseJson(deps, request.params.reference) });
  });

  api.patch<Params>('/cases/:reference', async (request) => {
    const body = parse(changeBody, request.body);
    const outcome = await changeCase(deps.casework, request.params.reference, body, API_ACTOR);
    await deps.enqueueDeliveries(outcome.outboxIds);
    return caseJson(deps, request.params.reference);
  });
}
