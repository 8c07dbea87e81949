/**
 * How far this process's watchers are behind their mailboxes, and the rule that lets outbound
 * mail step aside while they catch up.
 *
 * One Node process does its intake, its decisions and its sending on one thread. In a burst
 * (hundreds of people writing at once) every send competes with taking the burst in, yet a
 * case that is stored and decided is what support staff see and what holds or releases a
 * stranger; its acknowledgement can follow a few seconds later. So while the watchers have more
 * than one fetch still waiting on the server, a send job waits before it starts, for at most
 * `maxHoldMs` at a stretch: then the mail takes a turn just as long, so a backlog that never
 * ends slows mail down and never stops it. At a steady pace (a fetch at a time) nothing waits.
 */
export interface IntakeBacklogOptions {
  /** Messages waiting beyond which intake counts as behind: one fetch (the watcher's batch). */
  threshold: number;
  /** SEND_YIELD_SECONDS in ms: the longest a send waits at a stretch; 0 never waits. */
  maxHoldMs: number;
}

export class IntakeBacklog {
  private readonly waitingBy = new Map<string, number>();
  private readonly held = new Set<() => void>();
  /** When the current stretch of holding began; null while nothing is held. */
  private heldSince: number | null = null;
  /** Until when mail has its turn and passes whatever the backlog. */
  private turnUntil = 0;
  private turnTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: IntakeBacklogOptions) {}

  /** A watcher's count of messages listed on its server and not yet stored. */
  report(mailbox: string, waiting: number): void {
    if (waiting > 0) this.waitingBy.set(mailbox, waiting);
    else this.waitingBy.delete(mailbox);
    if (!this.behind()) this.release();
  }

  /** Messages the watchers have listed and not yet stored, over every mailbox. */
  waiting(): number {
    let n = 0;
    for (const w of this.waitingBy.values()) n += w;
    return n;
  }

  behind(): boolean {
    return this.waiting() > this.opts.threshold;
  }

  /**
   * Resolves at once unless intake is behind; else when it has caught up, when the stretch of
   * holding reaches `maxHoldMs` (mail's turn begins), or when `signal` aborts (the process stops).
   */
  async yieldToIntake(signal?: AbortSignal): Promise<void> {
    if (this.opts.maxHoldMs <= 0 || signal?.aborted || !this.behind() || Date.now() < this.turnUntil) return;
    this.heldSince ??= Date.now();
    const left = this.heldSince + this.opts.maxHoldMs - Date.now();
    if (left <= 0) return this.beginTurn();
    // Unreferenced: a stopping process does not wait for mail's turn to come.
    this.turnTimer ??= setTimeout(() => this.beginTurn(), left).unref();
    await new Promise<void>((resolve) => {
      const done = () => {
        this.held.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.held.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private beginTurn(): void {
    this.turnUntil = Date.now() + this.opts.maxHoldMs;
    this.release();
  }

  private release(): void {
    this.heldSince = null;
    if (this.turnTimer) clearTimeout(this.turnTimer);
    this.turnTimer = null;
    for (const done of [...this.held]) done();
  }
}
