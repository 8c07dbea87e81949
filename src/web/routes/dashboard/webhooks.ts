/**
 * The webhooks page: each endpoint with its deliveries counted, one endpoint's deliveries (by
 * status), and redelivering one. Endpoints are added and removed with the CLI (`case-intake
 * webhooks add|remove`), where the secret is shown once; here it is never read.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DomainError } from '../../../errors';
import { deliveryStatus, listDeliveries, redeliver } from '../../../webhooks/deliveries';
import { listEndpoints, type EndpointSummary } from '../../../webhooks/endpoints';
import { parseInput } from '../../casework';
import { DELIVERY_PAGE, DELIVERY_STATUSES, endpointPageData, endpointsData } from '../../dashboard/webhooks-view';
import { DASHBOARD_HEADERS } from '../../security-headers';
import type { WebDeps } from '../../deps';
import type { StaffAuth } from '../../staff-auth';

// "all" and an empty select mean no filter; the page's links leave it out.
const statusFilter = z.preprocess((v) => (v === '' || v === 'all' ? undefined : v), z.enum(DELIVERY_STATUSES).optional());
const pageQuery = z.object({ status: statusFilter, notice: z.string().max(40).optional() });
// The redeliver form carries the filter it was shown under, to come back to it.
const redeliverForm = z.object({ status: statusFilter });
const rowId = /^\d{1,18}$/;

/** What the module uses of the web's dependencies. */
export const WEBHOOK_ROUTE_DEPS = ['db', 'pages', 'log', 'deliverWebhooks'] as const;
export type WebhookRouteDeps = Pick<WebDeps, (typeof WEBHOOK_ROUTE_DEPS)[number]>;
type EndpointParams = { Params: { id: string } };
type DeliveryParams = { Params: { id: string; deliveryId: string } };

export function registerWebhookRoutes(app: FastifyInstance, deps: WebhookRouteDeps, auth: Pick<StaffAuth, 'frame'>): void {
  /** The endpoint with its counts; an id that names none (or is no id) is not found. */
  async function endpointOr404(id: string): Promise<EndpointSummary> {
    const found = rowId.test(id) ? (await listEndpoints(deps.db)).find((e) => e.id === id) : undefined;
    if (!found) throw new DomainError('not_found', `no webhook endpoint ${id}`);
    return found;
  }

  app.get('/dashboard/webhooks', async (request, reply) => {
    const endpoints = await listEndpoints(deps.db);
    return reply.headers(DASHBOARD_HEADERS).send(deps.pages.renderDashboard('dashboard/webhooks', 'Webhooks', auth.frame(request, 'webhooks'), endpointsData(endpoints)));
  });

  app.get<EndpointParams>('/dashboard/webhooks/:id', async (request, reply) => {
    const q = parseInput(pageQuery, request.query);
    const endpoint = await endpointOr404(request.params.id);
    const rows = await listDeliveries(deps.db, endpoint.id, { status: q.status, limit: DELIVERY_PAGE });
    const data = endpointPageData(endpoint, rows, q.status, q.notice);
    return reply.headers(DASHBOARD_HEADERS).send(deps.pages.renderDashboard('dashboard/webhook', `Webhook ${endpoint.id}`, auth.frame(request, 'webhooks'), data));
  });

  app.post<DeliveryParams>('/dashboard/webhooks/:id/deliveries/:deliveryId/redeliver', async (request, reply) => {
    const form = parseInput(redeliverForm, request.body);
    const { id, deliveryId } = request.params;
    const head = await redeliver(deps.db, id, deliveryId);
    let notice = 'redelivered';
    if (head) {
      // The row is pending and due: queue its stream now rather than wait for the sweep.
      await deps.deliverWebhooks?.([head]);
    } else {
      // Nothing changed: the row is pending already, or there is no such row on this endpoint.
      if (!(await deliveryStatus(deps.db, id, deliveryId))) throw new DomainError('not_found', `no delivery ${deliveryId} of webhook endpoint ${id}`);
      notice = 'already_pending';
    }
    deps.log.info({ event: 'webhook_redelivered', endpoint: id, delivery: deliveryId, staff: request.staff?.email, outcome: notice }, 'staff redelivered a webhook');
    const query = new URLSearchParams({ ...(form.status ? { status: form.status } : {}), notice });
    return reply.redirect(`/dashboard/webhooks/${id}?${query.toString()}#delivery-${deliveryId}`, 303);
  });
}
