/**
 * GET /api/events?after=<cursor>&limit=: the public events for consumers that pull, in order.
 * The relay runs first, so what was recorded up to the request is in the answer.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Db } from '../../db/connection';
import { DomainError } from '../../errors';
import { eventsAfter } from '../../events/feed';
import { relayEvents } from '../../events/relay';

const query = z
  .object({
    after: z.string().regex(/^\d{1,19}$/, 'an event’s cursor').optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

export function registerEventsApi(api: FastifyInstance, db: Db, relay: () => Promise<unknown> = () => relayEvents(db)): void {
  api.get('/events', async (request) => {
    const parsed = query.safeParse(request.query);
    if (!parsed.success) throw new DomainError('invalid_input', 'invalid query', parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`));
    await relay();
    const after = parsed.data.after ?? null;
    const events = await eventsAfter(db, after, parsed.data.limit);
    // `next` is where to ask from next time: the last event's cursor, or the same place when none came.
    return { events, next: events.at(-1)?.cursor ?? after };
  });
}
