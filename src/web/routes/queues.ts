import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { QUEUE_BOARD_HEADERS } from '../security-headers';

export const QUEUES_PATH = '/dashboard/queues';

/**
 * Bull Board: job details and retrying failed jobs. The caller mounts it inside the staff-only
 * scope. Its own UI calls its JSON API with fetch; a cross-site page cannot make those calls with
 * the staff cookie (SameSite=Lax, and the JSON body needs a CORS preflight we never grant), and
 * requests whose Origin is another site are refused outright.
 */
export async function registerQueueBoard(app: FastifyInstance, queues: Queue[]): Promise<void> {
  const adapter = new FastifyAdapter();
  adapter.setBasePath(QUEUES_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: adapter, options: { uiConfig: { boardTitle: 'case-intake queues' } } });
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (request.method !== 'GET' && request.method !== 'HEAD' && origin && new URL(origin).host !== request.headers.host) {
      return reply.status(403).send({ error: 'forbidden', message: 'cross-site request refused' });
    }
    return undefined;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(QUEUE_BOARD_HEADERS);
    return payload;
  });
  await app.register(adapter.registerPlugin(), { prefix: QUEUES_PATH });
}
