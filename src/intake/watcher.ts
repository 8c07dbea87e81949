import type { ImapFlow } from 'imapflow';
import type { ImapTarget } from '../config/config';
import type { TokenSource } from '../oauth/token-cache';
import { Backoff } from './backoff';
import type { IntakeBacklog } from './backlog';
import { batchBySize, loadCheckpoint, pendingUids, saveCheckpoint } from './checkpoints';
import type { IntakeDeps } from './filing';
import { fileBatch, fileLargeMessage, type BatchItem } from './ingest';
import { MailboxLease } from './lease';
import { connectMailbox, MailboxAuthError } from './mailbox-login';
import { sleep, unlessAborted } from './abortable';
import { HEARTBEAT_MS, publishWatcherStatus, type WatcherState, type WatcherStatus } from './watcher-status';
import { errorMessage } from '../errors';

export interface WatcherOptions {
  target: ImapTarget;
  databaseUrl: string;
  pollMs: number;
  /** False: never IDLE; new mail waits for the next poll (default true). */
  idle?: boolean;
  processedFolder: string | null;
  /** How often a standby process tries to take the lease, and the live one checks it. */
  leaseCheckMs?: number;
  /** UIDs fetched per FETCH command: bounds memory while keeping round trips few. */
  fetchBatch?: number;
  /** MAX_MESSAGE_BYTES: larger messages are streamed into storage instead of fetched whole. */
  maxMessageBytes?: number;
  /** Told how many listed messages are still to be stored, so outbound mail can step aside. */
  backlog?: IntakeBacklog;
  /** The access tokens of an OAuth mailbox (`target.auth.method` oauth2); null for a password. */
  tokens?: TokenSource | null;
}

const IDLE_AFTER_MS = 300;
/** UIDs fetched per FETCH command unless `fetchBatch` says otherwise. */
export const FETCH_BATCH = 50;
/** Message bytes fetched and processed at once: what bounds memory when large messages arrive. */
const MAX_BATCH_BYTES = 32 * 1024 * 1024;

/**
 * Watches one mailbox: holds the lease, keeps an IMAP connection in IDLE (with a periodic poll as
 * fallback), takes every message past the UID checkpoint in, and only then flags it \Seen (or
 * moves it) and advances the checkpoint. Any failure drops the connection and reconnects with
 * backoff; nothing is flagged that is not stored.
 */
export class MailboxWatcher {
  private readonly lease: MailboxLease;
  private readonly backoff = new Backoff();
  private readonly abort = new AbortController();
  private client: ImapFlow | null = null;
  private loop: Promise<void> | null = null;
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private readonly s: WatcherStatus;
  private readonly maxMessageBytes: number;

  constructor(private readonly deps: IntakeDeps, private readonly opts: WatcherOptions) {
    this.lease = new MailboxLease(opts.databaseUrl, opts.target.id);
    this.maxMessageBytes = opts.maxMessageBytes ?? 25 * 1024 * 1024;
    this.s = { mailbox: opts.target.id, state: 'starting', mode: null, lastSyncAt: null, lastMessageAt: null, lastError: null, reasonCode: null, reconnects: 0, stateSince: new Date().toISOString() };
  }

  private heartbeat: NodeJS.Timeout | null = null;

  private setState(state: WatcherState): void {
    if (this.s.state === state) return;
    this.s.stateSince = new Date().toISOString();
    this.s.state = state;
    void this.report();
  }

  /** Only the lease holder reports: a standby must not overwrite the live watcher's row. */
  private async report(): Promise<void> {
    if (!this.lease.held) return;
    await publishWatcherStatus(this.deps.db, this.status()).catch(() => undefined);
  }

  status(): WatcherStatus {
    return { ...this.s };
  }

  start(): void {
    this.heartbeat ??= setInterval(() => void this.report(), HEARTBEAT_MS);
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.client?.close();
    await this.loop;
    // Said while the lease is still ours; a standby taking over reports its own state.
    this.s.state = 'stopped';
    this.s.stateSince = new Date().toISOString();
    await this.report();
    await this.lease.release();
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    const log = this.deps.log.child({ mailbox: this.opts.target.id });
    while (!this.stopped) {
      if (!(await this.lease.tryAcquire())) {
        this.setState('standby');
        await sleep(this.opts.leaseCheckMs ?? 2000, this.abort.signal);
        continue;
      }
      try {
        await this.session();
      } catch (err) {
        if (this.stopped) break;
        this.s.lastError = errorMessage(err);
        this.s.reasonCode = err instanceof MailboxAuthError ? err.code : null;
        this.setState(err instanceof MailboxAuthError ? 'auth_failed' : 'disconnected');
        this.s.reconnects++;
        const wait = this.backoff.next();
        log.warn({ err: this.s.lastError, retryInMs: wait }, 'mailbox connection lost');
        await sleep(wait, this.abort.signal);
      }
    }
  }

  /** One connection's life: resolves when stopped, rejects when the connection or the lease fails. */
  private async session(): Promise<void> {
    const t = this.opts.target;
    this.setState('connecting');
    // A token is fetched (or taken from the cache while it has time left) before every connect;
    // the lease stays ours meanwhile: it is a lock on a connection of its own, whatever the wait.
    const connecting = connectMailbox(t, this.opts.tokens ?? null, {
      logger: false,
      // imapflow waits 15 s of quiet before it enters IDLE; new mail would wait as long.
      autoIdleDelay: IDLE_AFTER_MS,
      disableAutoIdle: this.opts.idle === false,
    });
    // A stop does not wait for a slow token endpoint or server: the late connection is closed.
    const client = await unlessAborted(connecting, this.abort.signal);
    if (!client) {
      void connecting.then((late) => late.close(), () => undefined);
      return;
    }
    this.client = client;
    // The session ends on stop (resolve) or on the first failure of the connection or the lease
    // (reject); whichever comes first wins, later ones are ignored.
    let end!: (err?: Error) => void;
    const ended = new Promise<void>((resolve, reject) => (end = (err) => (err ? reject(err) : resolve())));
    ended.catch(() => undefined);
    const onStop = () => end();
    if (this.stopped) end();
    else this.abort.signal.addEventListener('abort', onStop, { once: true });
    client.on('error', (err: Error) => end(err));
    client.on('close', () => end(new Error('connection closed')));
    // A poll-only watcher ignores what the server says between polls, as a poller would.
    if (this.opts.idle !== false) client.on('exists', () => this.requestSync());

    const timers: NodeJS.Timeout[] = [];
    try {
      await client.mailboxOpen(t.mailbox);
      this.s.mode = client.capabilities.has('IDLE') && this.opts.idle !== false ? 'idle' : 'polling';
      this.s.lastError = null;
      this.s.reasonCode = null;
      this.setState('connected');
      this.backoff.reset();
      timers.push(setInterval(() => this.requestSync(), this.opts.pollMs));
      timers.push(
        setInterval(() => {
          void this.lease.check().then((ok) => {
            if (!ok) end(new Error('mailbox lease lost'));
          });
        }, this.opts.leaseCheckMs ?? 2000),
      );
      this.requestSync();
      await ended;
    } finally {
      for (const timer of timers) clearInterval(timer);
      this.abort.signal.removeEventListener('abort', onStop);
      this.client = null;
      await this.syncing?.catch(() => undefined);
      if (client.usable) await client.logout().catch(() => undefined);
      client.close();
      if (!this.stopped && this.s.state === 'connected') this.setState('disconnected');
    }
  }

  /** Runs one sync at a time; a request that arrives during a sync runs another right after. */
  private requestSync(): void {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.syncAgain = false;
        await this.syncOnce();
      } while (this.syncAgain && !this.stopped);
    })()
      .catch((err: unknown) => {
        // A failed sync drops the connection; the reconnect starts again from the checkpoint.
        this.s.lastError = errorMessage(err);
        this.client?.close();
      })
      .finally(() => {
        this.syncing = null;
      });
  }

  /** Flags (or moves) messages that are stored, then moves the checkpoint past them. */
  private async acknowledge(client: ImapFlow, uids: number[], uidvalidity: string): Promise<void> {
    if (!uids.length) return;
    if (this.opts.processedFolder) await client.messageMove(uids.join(','), this.opts.processedFolder, { uid: true });
    else await client.messageFlagsAdd(uids.join(','), ['\\Seen'], { uid: true });
    await saveCheckpoint(this.deps.db, this.opts.target.id, { uidvalidity, lastUid: Math.max(...uids) });
  }

  private async syncOnce(): Promise<void> {
    const client = this.client;
    if (!client || !client.mailbox || this.stopped) return;
    // Without IDLE the server tells of new mail only in answer to a command: a NOOP first, or a
    // poll would see only what arrived before the previous one (measured: 1.5 intervals' wait).
    if (this.opts.idle === false) await client.noop();
    const mailbox = this.opts.target.id;
    const uidvalidity = String(client.mailbox.uidValidity);
    const checkpoint = await loadCheckpoint(this.deps.db, mailbox);
    if (checkpoint && checkpoint.uidvalidity !== uidvalidity) {
      this.deps.log.warn({ mailbox, from: checkpoint.uidvalidity, to: uidvalidity }, 'UIDVALIDITY changed; rescanning, duplicates are skipped by Message-ID');
    }
    const start = checkpoint && checkpoint.uidvalidity === uidvalidity ? checkpoint.lastUid + 1 : 1;
    // UIDs and sizes in one round trip; the sizes decide how many sources are fetched together.
    const listed = await client.fetchAll(`${start}:*`, { uid: true, size: true }, { uid: true });
    const sizes = new Map(listed.map((m) => [m.uid, m.size ?? 0]));
    const uids = pendingUids([...sizes.keys()], checkpoint, uidvalidity);
    // With the byte limit at most MAX_MESSAGE_BYTES, a message over it is always a batch of its own.
    const batches = batchBySize(uids.map((uid) => ({ uid, size: sizes.get(uid) ?? 0 })), this.opts.fetchBatch ?? FETCH_BATCH, Math.min(MAX_BATCH_BYTES, this.maxMessageBytes));
    let waiting = uids.length;
    try {
      for (const chunk of batches) {
        if (this.stopped) break;
        this.opts.backlog?.report(mailbox, waiting);
        await this.takeChunk(client, chunk, sizes, uidvalidity);
        waiting -= chunk.length;
      }
    } finally {
      this.opts.backlog?.report(mailbox, 0);
    }
    if (!uids.length && !checkpoint) await saveCheckpoint(this.deps.db, mailbox, { uidvalidity, lastUid: 0 });
    this.s.lastSyncAt = new Date().toISOString();
  }

  /** One fetch's messages (or one message too large to hold) stored, then flagged and checkpointed. */
  private async takeChunk(client: ImapFlow, chunk: number[], sizes: Map<number, number>, uidvalidity: string): Promise<void> {
    const mailbox = this.opts.target.id;
    const only = chunk.length === 1 ? chunk[0]! : null;
    if (only !== null && (sizes.get(only) ?? 0) > this.maxMessageBytes) {
      // Too large to hold: streamed from the server into storage, never whole in memory.
      const download = await client.download(String(only), undefined, { uid: true });
      if (download.content) await fileLargeMessage(this.deps, download.content, { source: 'imap', mailbox, uidvalidity, uid: only });
      this.s.lastMessageAt = new Date().toISOString();
      await this.acknowledge(client, [only], uidvalidity);
      return;
    }
    // The fetch stream is read to its end before anything is stored: abandoning it mid-way
    // would leave the IMAP connection out of step. A chunk is at most MAX_BATCH_BYTES.
    const items: BatchItem[] = [];
    for await (const msg of client.fetch(chunk.join(','), { uid: true, source: true }, { uid: true })) {
      if (msg.source) items.push({ raw: msg.source, origin: { source: 'imap', mailbox, uidvalidity, uid: msg.uid } });
    }
    const { results, error } = await fileBatch(this.deps, items);
    if (results.length) this.s.lastMessageAt = new Date().toISOString();
    // Stored messages are flagged and checkpointed even when a later one failed, so the
    // retry starts right after them.
    await this.acknowledge(client, items.slice(0, results.length).map((item) => item.origin.uid!), uidvalidity);
    if (error) throw error;
  }
}
