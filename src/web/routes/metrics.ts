import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../ops/metrics';
import { bearerToken, sameSecret } from '../auth';

/** Prometheus scrape endpoint, behind METRICS_TOKEN when one is set. */
export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics, token: string | null): void {
  app.get('/metrics', async (request, reply) => {
    if (token) {
      const given = bearerToken(request.headers.authorization);
      if (!given || !sameSecret(given, token)) return reply.status(401).header('www-authenticate', 'Bearer').send('a valid metrics token is required\n');
    }
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
