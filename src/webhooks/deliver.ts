/**
 * Delivers one stream of one endpoint: its pending rows, oldest first, one at a time, so a
 * receiver sees a case's events in order. One deliverer per stream across all processes (a
 * session advisory lock, let go if the process dies); a row whose attempt fails holds its stream
 * until its retry, or until it is given up.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db, DbOrTx } from '../db/connection';
import { errorMessage } from '../errors';
import type { SecretBox } from '../security/secret-box';
import { markDelivered, markFailedAttempt, streamHead, type AttemptOutcome, type PendingDelivery, type StreamHead } from './deliveries';
import { endpointTarget, type EndpointTarget } from './endpoints';
import { afterFailure, type WebhookRetryPolicy } from './retry';
import { signedHeaders } from './signing';

export interface WebhookDeliveryDeps {
  db: Db;
  box: SecretBox;
  retry: WebhookRetryPolicy;
  /** An attempt that has no answer by then has failed. WEBHOOK_TIMEOUT. */
  timeoutMs: number;
  log: Logger;
  /** Aborts when the process begins to stop: the stream is left after the attempt in hand. */
  stopping?: AbortSignal;
}

export interface StreamRun {
  delivered: number;
  /** The stream waits for this row's retry (or was left at it by a stop): wake it then. */
  waitFor: (StreamHead & { inMs: number }) | null;
}

const LAST_ERROR_CHARS = 300;

/** POSTs one event, signed; what the receiver answered. Only a 2xx is a delivery. */
export async function postEvent(target: EndpointTarget, messageId: string, body: string, timeoutMs: number, stopping?: AbortSignal): Promise<AttemptOutcome & { ok: boolean }> {
  const signal = stopping ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stopping]) : AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'case-intake-webhooks', ...signedHeaders(target.secret, messageId, new Date(), body) },
      body,
      // A redirect is the receiver's misconfiguration, not a delivery; following it would send
      // the event somewhere nobody registered.
      redirect: 'manual',
      signal,
    });
    const text = await res.text().catch(() => '');
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, error: null };
    const said = text.replace(/\s+/g, ' ').trim().slice(0, LAST_ERROR_CHARS);
    return { ok: false, status: res.status, error: `HTTP ${res.status}${said ? `: ${said}` : ''}` };
  } catch (err) {
    const timedOut = (err as Error).name === 'TimeoutError' || (signal.aborted && !stopping?.aborted);
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, status: null, error: timedOut ? `no answer within ${timeoutMs / 1000} s` : (cause?.code ?? cause?.message ?? errorMessage(err)) };
  }
}

const streamLock = (endpointId: string, stream: string) => sql`hashtextextended(${`case-intake:webhook:${endpointId}:${stream}`}, 0)`;

/** Delivers the stream until it is sent, waits for a retry, or the process stops. */
export async function deliverStream(deps: WebhookDeliveryDeps, endpointId: string, stream: string): Promise<StreamRun> {
  let delivered = 0;
  for (;;) {
    const run = await deps.db.connection().execute(async (conn) => {
      const got = (await sql<{ got: boolean }>`select pg_try_advisory_lock(${streamLock(endpointId, stream)}) as got`.execute(conn)).rows[0]?.got;
      // Someone else is delivering it; they look again after letting go, so nothing is stranded.
      if (!got) return null;
      try {
        return await drain(deps, conn, endpointId, stream);
      } finally {
        await sql`select pg_advisory_unlock(${streamLock(endpointId, stream)})`.execute(conn);
      }
    });
    if (!run) return { delivered, waitFor: null };
    delivered += run.delivered;
    if (run.waitFor) return { delivered, waitFor: run.waitFor };
    // A row committed while we held the lock may have found us busy: look once more, unlocked.
    const head = await streamHead(deps.db, endpointId, stream);
    // Not due: whoever failed it asked for its retry.
    if (!head || head.waitMs > 0) return { delivered, waitFor: null };
  }
}

async function drain(deps: WebhookDeliveryDeps, db: DbOrTx, endpointId: string, stream: string): Promise<StreamRun> {
  const target = await endpointTarget(db, deps.box, endpointId);
  let delivered = 0;
  if (!target) return { delivered, waitFor: null };
  for (;;) {
    const head = await streamHead(db, endpointId, stream);
    if (!head) return { delivered, waitFor: null };
    const wake = (inMs: number) => ({ delivered, waitFor: { endpointId, stream, deliveryId: head.id, attempts: head.attempts, inMs } });
    if (head.waitMs > 0 || deps.stopping?.aborted) return wake(head.waitMs);
    const outcome = await attempt(deps, target, head);
    if (outcome === 'stopped') return wake(0);
    if (outcome.ok) {
      await markDelivered(db, head.id, outcome);
      delivered += 1;
      continue;
    }
    const next = afterFailure(head.attempts + 1, head.pastGiveUp, deps.retry);
    await markFailedAttempt(db, head.id, outcome, next.status === 'pending' ? next.retryInMs : null, deps.retry.forMs);
    deps.log.warn({ endpoint: endpointId, event: head.event.id, attempt: head.attempts + 1, status: outcome.status, gaveUp: next.status === 'failed' }, 'webhook delivery failed');
    if (next.status === 'pending') return { delivered, waitFor: { endpointId, stream, deliveryId: head.id, attempts: head.attempts + 1, inMs: next.retryInMs } };
  }
}

async function attempt(deps: WebhookDeliveryDeps, target: EndpointTarget, head: PendingDelivery): Promise<(AttemptOutcome & { ok: boolean }) | 'stopped'> {
  const outcome = await postEvent(target, head.event.id, JSON.stringify(head.event), deps.timeoutMs, deps.stopping);
  // Cut off by our own stop, not by the receiver: not an attempt to count. It may have arrived;
  // the next deliverer sends it again with the same webhook-id.
  return deps.stopping?.aborted && !outcome.ok ? 'stopped' : outcome;
}

/**
 * `webhooks test`: one signed `webhook.test` event to the endpoint, now, outside any stream and
 * the feed (it reports no change); what the receiver answered. Null when there is no such endpoint.
 */
export async function sendTestEvent(db: Db, box: SecretBox, endpointId: string, timeoutMs: number): Promise<(AttemptOutcome & { ok: boolean; ms: number }) | null> {
  const target = await endpointTarget(db, box, endpointId);
  if (!target) return null;
  const event = { id: `evt_test_${randomBytes(8).toString('hex')}`, type: 'webhook.test', timestamp: new Date().toISOString(), data: { endpoint: target.id, url: target.url } };
  const started = performance.now();
  const outcome = await postEvent(target, event.id, JSON.stringify(event), timeoutMs);
  return { ...outcome, ms: Math.round(performance.now() - started) };
}
