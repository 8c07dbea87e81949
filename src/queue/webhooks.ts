/**
 * The help desk's side of the worker role: the relay that numbers events and fans them out to
 * webhook endpoints, the webhook jobs that deliver them, and the sweep that finds streams whose
 * job was lost. Each is idempotent; a stream's rows in PostgreSQL are the truth.
 */
import type { AppContext } from '../context';
import { relayEvents } from '../events/relay';
import { errorMessage } from '../errors';
import { overdueStreams, type StreamHead } from '../webhooks/deliveries';
import { deliverStream, type WebhookDeliveryDeps } from '../webhooks/deliver';
import type { JobPayloads } from './jobs';

const wakeOf = (h: StreamHead): JobPayloads['webhook'] => ({ endpointId: h.endpointId, stream: h.stream, wake: `${h.deliveryId}.${h.attempts}` });

/** Queues delivery of streams that got rows; a failure loses nothing (the sweep finds them). */
export async function queueStreams(ctx: AppContext, heads: StreamHead[], revive: boolean): Promise<void> {
  if (!heads.length) return;
  try {
    await (revive ? ctx.jobs.requeueMany('webhook', heads.map(wakeOf)) : ctx.jobs.enqueueMany('webhook', heads.map(wakeOf)));
  } catch (err) {
    ctx.log.warn({ err: errorMessage(err) }, 'could not queue webhook deliveries yet');
  }
}

/**
 * Relays what was recorded since the last run and queues the deliveries. `wait: false` skips
 * when another process is relaying (it queues what it relays).
 */
export async function relayAndDeliver(ctx: AppContext, { wait }: { wait: boolean }): Promise<number> {
  let total = 0;
  for (;;) {
    const { read, events, streams } = await relayEvents(ctx.db, { wait });
    await queueStreams(ctx, streams, false);
    total += events;
    if (!read) return total;
  }
}

export function webhookDeps(ctx: AppContext, stopping?: AbortSignal): WebhookDeliveryDeps {
  return { db: ctx.db, box: ctx.webhooks.box, retry: ctx.webhooks.retry, timeoutMs: ctx.webhooks.timeoutMs, log: ctx.log, stopping };
}

/** The webhook job: deliver the stream; a row waiting for its retry gets a delayed job of its own. */
export function webhookHandler(ctx: AppContext, stopping?: AbortSignal): (data: JobPayloads['webhook']) => Promise<unknown> {
  const deps = webhookDeps(ctx, stopping);
  return async ({ endpointId, stream }) => {
    const run = await deliverStream(deps, endpointId, stream);
    if (run.waitFor) await ctx.jobs.enqueueLater('webhook', wakeOf(run.waitFor), run.waitFor.inMs);
    return run;
  };
}

/** For the maintenance sweep: streams whose due head nobody took for `graceMs`. */
export async function sweepWebhookStreams(ctx: AppContext, graceMs: number): Promise<void> {
  await queueStreams(ctx, await overdueStreams(ctx.db, graceMs, 500), true);
}

const RELAY_EVERY_MS = 1000;

/**
 * The relay's heartbeat in a worker process: events reach the feed and the webhooks within about
 * a second of their change, without any path that changes a case having to ask. An idle run is
 * one indexed read of each source table. During an intake burst (this process's watchers more
 * than a fetch behind) it steps aside as mail does, for at most `maxHoldMs` (SEND_YIELD_SECONDS)
 * since its last run: relaying while intake is behind cost the bench 15-40 % of its intake speed
 * (docs/benchmarks.md), and a burst's events are then late by the burst, not lost.
 */
export function startEventRelay(ctx: AppContext, intake: { behind(): boolean }, maxHoldMs: number): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let lastRun = Date.now();
  const run = async () => {
    if (!intake.behind() || Date.now() - lastRun >= maxHoldMs) {
      await relayAndDeliver(ctx, { wait: false }).catch((err: unknown) => ctx.log.warn({ err: errorMessage(err) }, 'event relay failed; will retry'));
      lastRun = Date.now();
    }
    if (!stopped) timer = setTimeout(() => (running = run()), RELAY_EVERY_MS);
  };
  timer = setTimeout(() => (running = run()), RELAY_EVERY_MS);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
