/**
 * What the chaos run does over HTTP: polls `/readyz` once a second for the whole run, and
 * decides approvals from the captured approval-request mails by POSTing the links from several
 * clients at once (first decision wins; the others must get 409).
 */
import type { Pool } from 'pg';
import type { ChaosSmtp } from './smtp';

export interface ReadySample {
  t: number;
  code: number | 'error';
}

export class ReadyzPoller {
  readonly samples: ReadySample[] = [];
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(private readonly url: string) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const t = Date.now();
        let code: number | 'error';
        try {
          const res = await fetch(this.url, { signal: AbortSignal.timeout(900) });
          await res.arrayBuffer();
          code = res.status;
        } catch {
          code = 'error';
        }
        this.samples.push({ t, code });
        const wait = t + 1000 - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Samples taken within [from, to]. */
  count(from: number, to: number): { samples: number; ok: number; unavailable: number; error: number; other: number } {
    const within = this.samples.filter((s) => s.t >= from && s.t <= to);
    return {
      samples: within.length,
      ok: within.filter((s) => s.code === 200).length,
      unavailable: within.filter((s) => s.code === 503).length,
      error: within.filter((s) => s.code === 'error').length,
      other: within.filter((s) => s.code !== 200 && s.code !== 503 && s.code !== 'error').length,
    };
  }

  /** Seconds from `since` to the first 200 at or after it; null when none came within the timeout. */
  async waitOk(since: number, timeoutMs: number): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = this.samples.find((s) => s.t >= since && s.code === 200);
      if (ok) return Math.round((ok.t - since) / 100) / 10;
      if (Date.now() > deadline) return null;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

interface ApprovalTrack {
  /** Approver address → link token. */
  links: Map<string, string>;
  firstSeen: number;
  rounds: number;
  wins: number;
  conflicts: number;
  errors: number;
  done: boolean;
}

/**
 * Decides every other approval it sees a request mail for (so the rest stay pending and later
 * mail from those strangers joins them). For each, at once: approver one's link twice and
 * approver two's link once, all `authorize`; for every second one approver one says `ignore`.
 */
export class Decider {
  readonly tracks = new Map<string, ApprovalTrack>();
  private scanned = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  posts = 0;
  wins = 0;
  conflicts = 0;
  errors = 0;

  constructor(
    private readonly sink: ChaosSmtp,
    private readonly db: Pool,
    private readonly publicUrl: string,
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.tick().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Approvals chosen for a decision that no answer has settled yet. */
  outstanding(): number {
    let n = 0;
    for (const [id, t] of this.tracks) if (this.chosen(id) && !t.done) n++;
    return n;
  }

  /** Approvals for which more than one POST was answered "decided" (200). */
  doubleWins(): number {
    return [...this.tracks.values()].filter((t) => t.wins > 1).length;
  }

  decided(): number {
    return [...this.tracks.entries()].filter(([id, t]) => this.chosen(id) && t.done).length;
  }

  private chosen(approvalId: string): boolean {
    return Number(approvalId) % 2 === 0;
  }

  private async tick(): Promise<void> {
    const fresh = this.sink.accepted.slice(this.scanned);
    const links = new Map<string, { to: string; token: string }>();
    for (const m of fresh) {
      const token = /\/approvals\/([^\s?#"<>]+)/.exec(m.text)?.[1];
      if (token) links.set(m.messageId, { to: m.to[0] ?? '', token });
    }
    if (links.size) {
      const rows = (await this.db.query<{ message_id: string; approval_id: string }>(`select message_id, approval_id from outbox where kind = 'approval_request' and message_id = any($1)`, [[...links.keys()]])).rows;
      for (const r of rows) {
        const link = links.get(r.message_id)!;
        const t = this.tracks.get(r.approval_id) ?? { links: new Map(), firstSeen: Date.now(), rounds: 0, wins: 0, conflicts: 0, errors: 0, done: false };
        t.links.set(link.to, link.token);
        this.tracks.set(r.approval_id, t);
      }
    }
    this.scanned += fresh.length;
    const due = [...this.tracks.entries()].filter(([id, t]) => this.chosen(id) && !t.done && (t.links.size >= 2 || Date.now() - t.firstSeen > 5000));
    await Promise.all(due.map(([id, t]) => this.decide(id, t)));
  }

  private async decide(approvalId: string, t: ApprovalTrack): Promise<void> {
    const [a, b] = [...t.links.values()];
    // Every fourth: one approver ignores (twice) while the other authorizes, all at once.
    const contested = Number(approvalId) % 4 === 0;
    const first = contested ? 'ignore' : 'authorize';
    const posts: Array<[string, string]> = [
      [a!, first],
      [a!, first],
      ...(b ? ([[b, 'authorize']] as Array<[string, string]>) : []),
    ];
    t.rounds++;
    const answers = await Promise.all(
      posts.map(async ([token, decision]) => {
        this.posts++;
        try {
          const res = await fetch(`${this.publicUrl}/approvals/${token}`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: `decision=${decision}`,
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer();
          return res.status;
        } catch {
          return 0;
        }
      }),
    );
    for (const s of answers) {
      if (s === 200) {
        t.wins++;
        this.wins++;
      } else if (s === 409) {
        t.conflicts++;
        this.conflicts++;
      } else {
        t.errors++;
        this.errors++;
      }
    }
    // Someone decided (us now, or a request of ours whose answer was lost to a kill).
    if (answers.some((s) => s === 200 || s === 409)) t.done = true;
  }
}
