/**
 * Webhook endpoints: the one module that writes `webhook_endpoints`. An endpoint's secret is
 * shown once, when it is added; the database keeps it sealed (the signer needs it back).
 */
import { sql } from 'kysely';
import type { Db, DbOrTx } from '../db/connection';
import { DomainError } from '../errors';
import { EVENT_TYPES, isEventType } from '../events/catalog';
import { SecretBox } from '../security/secret-box';
import { newWebhookSecret } from './signing';

const PURPOSE = 'case-intake/webhook-secrets/v1';

/** Seals and opens endpoints' secrets with keys derived from LINK_SECRET (and LINK_SECRET_PREVIOUS). */
export const webhookSecretBox = (linkSecrets: Array<string | null>): SecretBox => new SecretBox(linkSecrets, PURPOSE);

export interface NewEndpoint {
  url: string;
  /** The event types it takes; none given: all. */
  eventTypes: string[] | null;
}

/** The endpoint's URL and event types, refused with every problem listed. */
export function checkEndpoint({ url, eventTypes }: NewEndpoint): NewEndpoint {
  const problems: string[] = [];
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    problems.push(`${JSON.stringify(url)} is not a URL`);
  }
  if (parsed && parsed.protocol !== 'https:' && parsed.protocol !== 'http:') problems.push('the URL must be https:// (or http:// on a private network)');
  if (parsed?.hash) problems.push('the URL must not have a #fragment (it is never sent)');
  const unknown = (eventTypes ?? []).filter((t) => !isEventType(t));
  if (unknown.length) problems.push(`unknown event type ${unknown.join(', ')}; the types are ${EVENT_TYPES.join(', ')}`);
  if (eventTypes && !eventTypes.length) problems.push('--events needs at least one event type');
  if (problems.length) throw new DomainError('invalid_input', 'cannot add this webhook endpoint', problems);
  return { url: parsed!.href, eventTypes: eventTypes && [...new Set(eventTypes)] };
}

/** Adds an endpoint; returns its id and its secret (the only time the secret is shown). */
export async function addEndpoint(db: DbOrTx, box: SecretBox, endpoint: NewEndpoint): Promise<{ id: string; secret: string }> {
  const { url, eventTypes } = checkEndpoint(endpoint);
  const secret = newWebhookSecret();
  const row = await db.insertInto('webhook_endpoints').values({ url, sealed_secret: box.seal(secret), event_types: eventTypes }).returning('id').executeTakeFirstOrThrow();
  return { id: row.id, secret };
}

/** Removes an endpoint and its deliveries (pending ones are not sent); false when there was none. */
export async function removeEndpoint(db: DbOrTx, id: string): Promise<boolean> {
  if (!/^\d{1,18}$/.test(id)) return false;
  const removed = await db.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
  return removed.numDeletedRows > 0n;
}

export interface EndpointSummary {
  id: string;
  url: string;
  eventTypes: string[] | null;
  createdAt: Date;
  pending: number;
  failed: number;
  delivered: number;
  lastDeliveredAt: Date | null;
}

/** Every endpoint with its deliveries counted by status, oldest endpoint first. */
export async function listEndpoints(db: Db): Promise<EndpointSummary[]> {
  const rows = await db
    .selectFrom('webhook_endpoints as w')
    .leftJoin('webhook_deliveries as d', 'd.endpoint_id', 'w.id')
    .select(['w.id', 'w.url', 'w.event_types', 'w.created_at'])
    .select([
      sql<string>`count(*) filter (where d.status = 'pending')`.as('pending'),
      sql<string>`count(*) filter (where d.status = 'failed')`.as('failed'),
      sql<string>`count(*) filter (where d.status = 'delivered')`.as('delivered'),
      sql<Date | null>`max(d.delivered_at)`.as('last_delivered_at'),
    ])
    .groupBy('w.id')
    .orderBy('w.id')
    .execute();
  return rows.map((r) => ({ id: r.id, url: r.url, eventTypes: r.event_types, createdAt: r.created_at, pending: Number(r.pending), failed: Number(r.failed), delivered: Number(r.delivered), lastDeliveredAt: r.last_delivered_at }));
}

export interface EndpointTarget {
  id: string;
  url: string;
  secret: string;
}

/** Where and with what to sign a delivery; null when the endpoint was removed. */
export async function endpointTarget(db: DbOrTx, box: SecretBox, id: string): Promise<EndpointTarget | null> {
  if (!/^\d{1,18}$/.test(id)) return null;
  const row = await db.selectFrom('webhook_endpoints').select(['id', 'url', 'sealed_secret']).where('id', '=', id).executeTakeFirst();
  return row ? { id: row.id, url: row.url, secret: box.open(row.sealed_secret, "the webhook endpoint's secret") } : null;
}
