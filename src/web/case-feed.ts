import type { Logger } from 'pino';
import type { FeedEvent } from '../cases/event-feed';
import { errorMessage } from '../errors';

/**
 * The live case list's source, one per web process: a single poller reads new case events every
 * `pollMs` and hands each to every open event stream, so a hundred open lists cost one query a
 * second, not a hundred. It starts with the first subscriber and stops when the last leaves (or
 * the server closes); while it runs, a comment goes out every `heartbeatMs` so proxies keep idle
 * streams open and each stream can check its session.
 */

export interface CaseFeedSource {
  latestId(): Promise<string>;
  after(id: string, limit: number): Promise<FeedEvent[]>;
}

export interface CaseFeedSubscriber {
  /** Writes a server-sent-events chunk. */
  write(chunk: string): void;
  /** At each heartbeat, before the comment: the subscriber may end itself (its session ended). */
  heartbeat?(): void | Promise<void>;
  /** Ends the stream (the server is closing); the subscriber is already removed. */
  end(): void;
}

export interface CaseFeedOptions {
  pollMs: number;
  heartbeatMs: number;
  maxSubscribers: number;
}

export const CASE_FEED_DEFAULTS: CaseFeedOptions = { pollMs: 1000, heartbeatMs: 15_000, maxSubscribers: 100 };

/** Events read per poll; more wait for the next poll. */
const BATCH = 500;

/** One event as the stream sends it: its id (for Last-Event-ID), the case and what happened, nothing more. */
export function caseEventChunk(e: FeedEvent): string {
  return `id: ${e.id}\nevent: case\ndata: ${JSON.stringify({ reference: e.reference, kind: e.kind })}\n\n`;
}

/** Whether a client that last saw `seen` (Last-Event-ID, or the page's own mark) has missed events before `position`. */
export function missedEvents(seen: string | undefined, position: string): boolean {
  if (seen === undefined || !/^\d{1,19}$/.test(seen)) return false;
  return BigInt(seen) < BigInt(position);
}

export class CaseFeed {
  private readonly subscribers = new Set<CaseFeedSubscriber>();
  private pollTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** The last event id read; undefined while stopped. */
  private position: string | undefined;
  private starting: Promise<string> | undefined;
  private closed = false;
  /** Counts starts, so a poll still reading when the feed stopped (and maybe started again) ends quietly. */
  private run = 0;

  constructor(
    private readonly source: CaseFeedSource,
    private readonly log: Logger,
    private readonly options: CaseFeedOptions = CASE_FEED_DEFAULTS,
  ) {}

  get size(): number {
    return this.subscribers.size;
  }

  get running(): boolean {
    return this.position !== undefined || this.starting !== undefined;
  }

  /**
   * Adds a stream; answers where the feed stands (the id every later event is above), or
   * undefined when the process already serves `maxSubscribers` streams or is closing.
   */
  async subscribe(s: CaseFeedSubscriber): Promise<{ position: string; unsubscribe: () => void } | undefined> {
    if (this.closed || this.subscribers.size >= this.options.maxSubscribers) return undefined;
    this.subscribers.add(s);
    const unsubscribe = () => this.unsubscribe(s);
    try {
      const position = this.position ?? (await this.start());
      return { position, unsubscribe };
    } catch (err) {
      unsubscribe();
      throw err;
    }
  }

  /** Ends every stream and stops polling; later subscriptions are refused. */
  close(): void {
    this.closed = true;
    for (const s of [...this.subscribers]) {
      this.subscribers.delete(s);
      s.end();
    }
    this.stop();
  }

  private unsubscribe(s: CaseFeedSubscriber): void {
    if (this.subscribers.delete(s) && this.subscribers.size === 0) this.stop();
  }

  private start(): Promise<string> {
    this.starting ??= this.source.latestId().then(
      (id) => {
        this.starting = undefined;
        if (this.subscribers.size === 0) return id;
        this.position = id;
        const run = ++this.run;
        this.pollTimer = setTimeout(() => void this.poll(run), this.options.pollMs);
        this.heartbeatTimer = setInterval(() => void this.beat(), this.options.heartbeatMs);
        return id;
      },
      (err: unknown) => {
        this.starting = undefined;
        throw err;
      },
    );
    return this.starting;
  }

  private stop(): void {
    clearTimeout(this.pollTimer);
    clearInterval(this.heartbeatTimer);
    this.pollTimer = this.heartbeatTimer = undefined;
    this.position = undefined;
    this.run++;
  }

  private async poll(run: number): Promise<void> {
    const from = this.position;
    if (from === undefined || run !== this.run) return;
    try {
      const events = await this.source.after(from, BATCH);
      if (run !== this.run || this.position === undefined) return;
      for (const e of events) this.broadcast(caseEventChunk(e));
      if (events.length) this.position = events[events.length - 1]!.id;
    } catch (err) {
      if (run !== this.run) return;
      this.log.warn({ err: errorMessage(err) }, 'case feed poll failed');
    }
    if (this.position !== undefined) this.pollTimer = setTimeout(() => void this.poll(run), this.options.pollMs);
  }

  private async beat(): Promise<void> {
    await Promise.all(
      [...this.subscribers].map(async (s) => {
        try {
          await s.heartbeat?.();
        } catch (err) {
          this.log.warn({ err: errorMessage(err) }, 'case feed heartbeat check failed');
        }
      }),
    );
    this.broadcast(': heartbeat\n\n');
  }

  private broadcast(chunk: string): void {
    for (const s of this.subscribers) s.write(chunk);
  }
}
