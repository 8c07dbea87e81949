/**
 * `npm run chaos`: faults against real servers, with real `case-intake start --role …` processes,
 * and what they left behind counted with SQL. Not a jest test: it prints a line per phase, a
 * summary table and one JSON line, and exits non-zero when any phase fails.
 *
 *   1. kill -9 of a random process every few seconds (started again at once) while
 *      CHAOS_MESSAGES (2000) messages arrive; approvals are decided meanwhile by POSTing the
 *      emailed links from several clients at once
 *   2. Redis stopped for 30 s (CHAOS_SHORT=1: 8 s) and started again, mail still arriving
 *   3. PostgreSQL stopped (fast shutdown) for 10 s (5 s) and started again, mail still arriving
 *   4. Dovecot restarted while the watcher idles (at once, then down for 10 s / 6 s); new mail
 *      is still taken in
 *   5. the SMTP server answers 451 for 60 s (10 s), mail still arriving
 *   6. SIGTERM to every process with jobs in flight: each must exit within 10 s; then everything
 *      started again and checked once more
 *
 * After each phase the run waits until the service has settled, then checks: every appended
 * message is exactly one case (whose first message it is) or one kept automatic message; every
 * outbox row is sent, and the SMTP server accepted it exactly once; no approval is decided twice;
 * and for the outages of PostgreSQL, Redis and the mailbox, /readyz answered 503 at least once
 * while it lasted and 200 again after.
 *
 * PostgreSQL and Redis are private instances on free ports (the machine's own are not touched),
 * Dovecot is test/support/dovecot.ts's, the SMTP server test/chaos/smtp.ts. Every process logs at
 * LOG_LEVEL=info into the run's directory, which is kept (its server data is removed).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { startDovecot, type DovecotServer } from '../support/dovecot';
import { freePort } from '../support/smtp-sink';
import { approvalsOk, backlog, checkApprovals, checkMessages, checkOutbox, messagesOk, outboxOk, type ApprovalCounts, type MessageCounts, type OutboxCounts } from './checks';
import { Fleet, type Member } from './fleet';
import { Appender, chaosDirectory, SUPPORT_ADDRESS } from './mail';
import { Decider, ReadyzPoller } from './probes';
import { createDatabase, startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from './servers';
import { startChaosSmtp, type ChaosSmtp } from './smtp';

const SHORT = process.env.CHAOS_SHORT === '1';
const MESSAGES = Number(process.env.CHAOS_MESSAGES ?? 2000);
/** Arrival rate while the kills go on, and while later outages last. */
const RATE = Number(process.env.CHAOS_RATE ?? 50);
const BACKGROUND_RATE = 10;
const REDIS_DOWN_S = SHORT ? 8 : 30;
const PG_DOWN_S = SHORT ? 5 : 10;
const DOVECOT_DOWN_S = SHORT ? 6 : 10;
const SMTP_REFUSE_S = SHORT ? 10 : 60;
const SIGTERM_LIMIT_MS = 10_000;
/**
 * A row the SMTP server accepted twice fails the phase (outboxOk). Each is also described: whether
 * a kill -9 of a worker came within this long after the end of its first DATA (a little before
 * counts too: the kill lands while the server is still answering), which says where to look.
 */
const KILL_WINDOW_MS = 2000;

const ROOT = [join(__dirname, '../../..'), join(__dirname, '../..')].find((d) => existsSync(join(d, 'bin/case-intake.js')))!;
const BIN = join(ROOT, 'bin/case-intake.js');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`;
const say = (line: string) => console.log(`${stamp()} ${line}`);

interface PhaseResult {
  phase: string;
  pass: boolean;
  problems: string[];
  counts: Record<string, unknown>;
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The Dovecot master of this server (its process group), found by its config path. */
function dovecotMaster(dovecot: DovecotServer): number | null {
  const conf = join(dovecot.dir, 'dovecot.conf');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline.includes(conf) && cmdline.some((a) => a.endsWith('/dovecot'))) return Number(entry);
    } catch {
      continue;
    }
  }
  return null;
}

/** Stops every process of the Dovecot server (its restart() starts it again later). */
async function stopDovecotGroup(dovecot: DovecotServer): Promise<void> {
  const master = dovecotMaster(dovecot);
  if (master === null) throw new Error('Dovecot master not found');
  // Live (not zombie) members of its process group.
  const alive = () =>
    readdirSync('/proc').some((entry) => {
      if (!/^\d+$/.test(entry)) return false;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(fields[2]) === master && fields[0] !== 'Z' && fields[0] !== 'X';
      } catch {
        return false;
      }
    });
  process.kill(-master, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (alive() && Date.now() < deadline) await sleep(50);
  if (alive()) process.kill(-master, 'SIGKILL');
}

class Run {
  dir = '';
  logs = '';
  pg: PrivatePostgres | null = null;
  redis: PrivateRedis | null = null;
  dovecot: DovecotServer | null = null;
  sink: ChaosSmtp | null = null;
  fleet: Fleet | null = null;
  pool: Pool | null = null;
  readyz: ReadyzPoller | null = null;
  decider: Decider | null = null;
  appender: Appender | null = null;
  publicUrl = '';
  results: PhaseResult[] = [];
  outages: Record<string, { seconds: number; readyz503: number; readyzSamples: number; readyzErrors: number; recoveredInS: number | null }> = {};
  sigterm: { inFlight: Array<{ name: string; ms: number; code: number | null }>; idle: Array<{ name: string; ms: number; code: number | null }> } = { inFlight: [], idle: [] };
  /** Outbox rows accepted twice, each described once: right after a kill -9 or not. */
  private readonly judgedTwice = new Set<string>();
  readonly resentAfterKill: Array<{ outboxId: string; kind: string; msBeforeKill: number; killed: string }> = [];
  readonly resentOtherwise: Array<{ outboxId: string; kind: string; acceptedAt: string[] }> = [];
  private cleaned = false;
  private readonly judgedLost = new Set<string>();

  /** Judges the rows accepted twice that no earlier phase has seen. */
  private judgeTwice(outbox: OutboxCounts): { fresh: number; afterKill: number; otherwise: Array<{ outboxId: string; kind: string; acceptedAt: string[] }> } {
    const fresh = outbox.twice.filter((t) => !this.judgedTwice.has(t.id));
    const otherwise: Array<{ outboxId: string; kind: string; acceptedAt: string[] }> = [];
    let afterKill = 0;
    for (const t of fresh) {
      this.judgedTwice.add(t.id);
      const acceptances = this.sink!.accepted.filter((a) => a.messageId === t.messageId);
      const times = acceptances.map((a) => a.at);
      const first = times[0] ?? 0;
      // The first acceptance's SMTP session ended when a worker was killed: it was the killed one's.
      const closed = this.sink!.closedAt.get(acceptances[0]?.session ?? '');
      const kill = this.fleet!.killLog.find((k) => k.worker && k.at >= first - 500 && k.at - first <= KILL_WINDOW_MS && closed !== undefined && closed >= k.at - 100 && closed <= k.at + 1000);
      if (kill) {
        afterKill++;
        this.resentAfterKill.push({ outboxId: t.id, kind: t.kind, msBeforeKill: kill.at - first, killed: kill.name });
      } else {
        const o = { outboxId: t.id, kind: t.kind, acceptedAt: times.map((x) => new Date(x).toISOString()) };
        otherwise.push(o);
        this.resentOtherwise.push(o);
      }
    }
    return { fresh: fresh.length, afterKill, otherwise };
  }

  async setup(): Promise<void> {
    this.dir = await mkdtemp(join(os.tmpdir(), 'case-intake-chaos-'));
    await chmod(this.dir, 0o755);
    this.logs = join(this.dir, 'logs');
    await mkdir(this.logs);
    await chmod(this.logs, 0o777);
    say(`run directory ${this.dir} (process logs in logs/)`);
    this.pg = await startPrivatePostgres(join(this.dir, 'pg'), join(this.logs, 'postgres.log'));
    await createDatabase(this.pg, 'case_intake');
    this.redis = await startPrivateRedis(join(this.dir, 'redis'), join(this.logs, 'redis.log'));
    this.dovecot = await startDovecot();
    this.sink = await startChaosSmtp();
    const webPort = await freePort();
    this.publicUrl = `http://127.0.0.1:${webPort}`;
    say(`PostgreSQL :${this.pg.port}, Redis :${this.redis.port}, Dovecot :${this.dovecot.port}, SMTP :${this.sink.port}, web :${webPort}`);

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      DATABASE_URL: this.pg.url('case_intake'),
      REDIS_URL: this.redis.url,
      QUEUE_PREFIX: 'chaos',
      IMAP_URL: this.dovecot.url,
      IMAP_POLL_SECONDS: '10',
      SMTP_URL: this.sink.url,
      SUPPORT_ADDRESS,
      PUBLIC_URL: this.publicUrl,
      HOST: '127.0.0.1',
      PORT: String(webPort),
      LOG_LEVEL: 'info',
      // Thousands of messages from a few dozen senders: the loop ceilings would hold most of
      // them, and the point here is every path of the mail, not the ceilings.
      SENDER_CASE_LIMIT: '1000000',
      AUTO_REPLY_PER_SENDER_PER_HOUR: '1000000',
      APPROVAL_MAIL_PER_HOUR: '1000000',
    };
    const directoryFile = join(this.dir, 'directory.json');
    await writeFile(directoryFile, JSON.stringify(chaosDirectory(), null, 2));
    for (const args of [['migrate'], ['directory', 'import', directoryFile]]) {
      const r = await runCli(args, env);
      if (r.code !== 0) throw new Error(`case-intake ${args.join(' ')} exited ${r.code}: ${r.out}`);
    }
    this.pool = new Pool({ connectionString: this.pg.url('case_intake'), max: 3 });
    this.pool.on('error', () => undefined);

    this.fleet = new Fleet(BIN, ROOT, env, this.logs, [
      { name: 'watcher-worker-1', roles: 'watcher,worker' },
      { name: 'watcher-worker-2', roles: 'watcher,worker' },
      { name: 'web', roles: 'web' },
      { name: 'worker', roles: 'worker' },
    ]);
    this.fleet.startAll();
    await this.fleet.waitUp();
    this.readyz = new ReadyzPoller(`${this.publicUrl}/readyz`);
    this.readyz.start();
    if ((await this.readyz.waitOk(Date.now(), 30_000)) === null) throw new Error('/readyz never answered 200 after start');
    this.decider = new Decider(this.sink, this.pool, this.publicUrl);
    this.decider.start();
    this.appender = new Appender(this.dovecot, Date.now().toString(36), Math.max(10, Math.round(MESSAGES / 10)));
    say(`up: ${this.fleet.members.map((m) => `${m.spec.name} (--role ${m.spec.roles})`).join(', ')}; /readyz 200`);
  }

  /** Waits until every appended message is decided, no case is new and the outbox is drained. */
  async settle(timeoutMs: number): Promise<{ settled: boolean; seconds: number; state: Awaited<ReturnType<typeof backlog>> | null }> {
    const started = Date.now();
    let state: Awaited<ReturnType<typeof backlog>> | null = null;
    for (;;) {
      const revived = this.fleet!.reviveDead();
      if (revived.length) say(`  revived after an exit nobody asked for: ${revived.join(', ')}`);
      try {
        state = await backlog(this.pool!, this.appender!.count);
        if (state.done >= state.appended && state.received === 0 && state.casesNew === 0 && state.outboxPending === 0 && this.decider!.outstanding() === 0) {
          return { settled: true, seconds: (Date.now() - started) / 1000, state };
        }
      } catch {
        // PostgreSQL is coming back
      }
      if (Date.now() - started > timeoutMs) return { settled: false, seconds: (Date.now() - started) / 1000, state };
      await sleep(500);
    }
  }

  /** Settles, then checks every invariant; `extra` adds the phase's own conditions. */
  async check(phase: string, settleMs: number, extra: { problems: string[]; counts: Record<string, unknown> } = { problems: [], counts: {} }): Promise<PhaseResult> {
    const s = await this.settle(settleMs);
    const messages = await checkMessages(this.pool!, this.appender!.appended);
    const outbox = await checkOutbox(this.pool!, this.sink!.deliveries);
    const approvals = await checkApprovals(this.pool!);
    const problems = [...extra.problems];
    if (!s.settled) problems.push(`did not settle within ${settleMs / 1000} s: ${JSON.stringify(s.state)}, decisions outstanding ${this.decider!.outstanding()}`);
    if (!messagesOk(messages)) problems.push(`messages: ${describeMessages(messages)}`);
    if (!outboxOk(outbox)) problems.push(`outbox: ${describeOutbox(outbox)}`);
    const twice = this.judgeTwice(outbox);
    if (twice.otherwise.length) problems.push(`${twice.otherwise.length} outbox rows accepted twice by the SMTP server with no kill -9 of a worker within ${KILL_WINDOW_MS} ms after the first: ${JSON.stringify(twice.otherwise)}`);
    if (twice.afterKill) {
      const recent = this.resentAfterKill.slice(-twice.afterKill);
      problems.push(
        `${twice.afterKill} outbox rows accepted twice, the first DATA ending ${Math.min(...recent.map((r) => r.msBeforeKill))} to ${Math.max(...recent.map((r) => r.msBeforeKill))} ms before a kill -9 of a worker, on an SMTP session that ended with the kill (same Message-ID both times): ${recent.map((r) => `${r.outboxId} ${r.kind}`).join(', ')}`,
      );
    }
    for (const lost of outbox.lost.filter((l) => !this.judgedLost.has(l.id))) {
      this.judgedLost.add(lost.id);
      // Where the commit-before-dot window would put it: a kill -9 of a worker just after the row turned sent.
      const kill = this.fleet!.killLog.filter((k) => k.worker).map((k) => ({ name: k.name, ms: k.at - lost.sentAt })).sort((a, b) => Math.abs(a.ms) - Math.abs(b.ms))[0];
      problems.push(`outbox row ${lost.id} (${lost.kind}) turned sent and was never accepted; nearest kill -9 of a worker: ${kill ? `${kill.name}, ${kill.ms} ms after it turned sent` : 'none'}`);
    }
    if (!approvalsOk(approvals, this.decider!.doubleWins())) problems.push(`approvals: ${JSON.stringify(approvals)}, POSTs answered 200 more than once for ${this.decider!.doubleWins()}`);
    const unexpected = this.fleet!.members.flatMap((m) => m.unexpectedExits.map((e) => `${m.spec.name} (code ${e.code}, signal ${e.signal})`));
    if (unexpected.length) problems.push(`processes exited on their own: ${unexpected.join(', ')}`);
    for (const m of this.fleet!.members) m.unexpectedExits.length = 0;
    const result: PhaseResult = {
      phase,
      pass: problems.length === 0,
      problems,
      counts: { ...extra.counts, ...(twice.fresh ? { acceptedTwice: twice.fresh, resentAfterKill: twice.afterKill } : {}), settleSeconds: Math.round(s.seconds * 10) / 10, messages: summarizeMessages(messages), outbox: summarizeOutbox(outbox), approvals: summarizeApprovals(approvals, this.decider!) },
    };
    this.results.push(result);
    say(
      `${result.pass ? 'PASS' : 'FAIL'} ${phase}: messages ${messages.appended} (cases ${messages.cases}, kept ${messages.kept}, missing ${messages.missing}, duplicated ${messages.duplicated}, quarantined ${messages.quarantined}); ` +
        `outbox ${outbox.rows} (sent ${outbox.sent}, accepted twice ${outbox.sentTwice}, pending ${outbox.pending}, failed ${outbox.failed}, retried ${outbox.retried}); ` +
        `approvals ${approvals.approvals} (authorized ${approvals.authorized}, ignored ${approvals.ignored}, pending ${approvals.pending}, decided twice ${approvals.decidedTwice}); ` +
        `${Object.entries(extra.counts).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(', ')}${Object.keys(extra.counts).length ? '; ' : ''}settled in ${result.counts.settleSeconds} s`,
    );
    for (const p of problems) say(`  problem: ${p}`);
    return result;
  }

  /** Appends in the background at `rate` until the returned stop is called. */
  background(rate: number): () => Promise<number> {
    let stop = false;
    const done = this.appender!.pace(Number.POSITIVE_INFINITY, rate, () => stop);
    return async () => {
      stop = true;
      return done;
    };
  }

  /** An outage of something /readyz watches: 503 at least once while it lasts, 200 after. */
  async outage(name: string, seconds: number, down: () => Promise<void>, up: () => Promise<void>): Promise<{ problems: string[]; counts: Record<string, unknown> }> {
    const from = Date.now();
    await down();
    const downAt = Date.now();
    say(`  ${name} down`);
    await sleep(seconds * 1000);
    await up();
    const to = Date.now();
    const actual = Math.round((to - downAt) / 100) / 10;
    say(`  ${name} up again after ${actual} s`);
    const recoveredInS = await this.readyz!.waitOk(Date.now(), 90_000);
    // The samples from the moment it was told to stop until it answers again.
    const seen = this.readyz!.count(from, to);
    this.outages[name] = { seconds: actual, readyz503: seen.unavailable, readyzSamples: seen.samples, readyzErrors: seen.error, recoveredInS };
    const problems: string[] = [];
    if (seen.unavailable === 0) problems.push(`/readyz never answered 503 during the ${name} outage (${seen.samples} samples: ${seen.ok} × 200, ${seen.error} errors, ${seen.other} other)`);
    if (recoveredInS === null) problems.push(`/readyz not 200 again within 90 s after ${name} came back`);
    return { problems, counts: { outageSeconds: actual, readyz: `${seen.unavailable}/${seen.samples} × 503`, readyzBackInS: recoveredInS } };
  }

  async phase1(): Promise<void> {
    const fleet = this.fleet!;
    say(`phase 1: kill -9 a random process every 1.5-4 s while ${MESSAGES} messages arrive at ${RATE}/s`);
    let appending = true;
    const killed: string[] = [];
    const stored: number[] = [];
    const kills = (async () => {
      while (appending) {
        await sleep(1500 + Math.random() * 2500);
        if (!appending) break;
        const victim: Member = fleet.members[Math.floor(Math.random() * fleet.members.length)]!;
        killed.push(await fleet.killAndRestart(victim));
        stored.push(Number((await this.pool!.query<{ n: string }>('select count(*) as n from raw_messages').catch(() => ({ rows: [{ n: '0' }] }))).rows[0]!.n));
      }
    })();
    await this.appender!.pace(MESSAGES, RATE);
    appending = false;
    await kills;
    const byName: Record<string, number> = {};
    for (const k of killed) byName[k] = (byName[k] ?? 0) + 1;
    say(`  appended ${this.appender!.count}; killed ${killed.length} times (${Object.entries(byName).map(([k, v]) => `${k} ${v}`).join(', ')}); raw rows at each kill: ${stored.join(' ')}`);
    const problems: string[] = [];
    if (killed.length < 2) problems.push(`only ${killed.length} kills: the phase was too short to prove anything`);
    await this.check('1 kill -9', 180_000, { problems, counts: { kills: killed.length, killedByProcess: byName, approvalPosts: this.decider!.posts, approvalPost200: this.decider!.wins, approvalPost409: this.decider!.conflicts } });
  }

  async phase2(): Promise<void> {
    say(`phase 2: Redis stopped for ${REDIS_DOWN_S} s while mail arrives at ${BACKGROUND_RATE}/s`);
    const stop = this.background(BACKGROUND_RATE);
    await sleep(2000);
    const o = await this.outage('redis', REDIS_DOWN_S, () => this.redis!.stop(), () => this.redis!.start());
    await sleep(2000);
    const n = await stop();
    say(`  appended ${n} during the phase`);
    await this.check('2 redis outage', 120_000, o);
  }

  async phase3(): Promise<void> {
    say(`phase 3: PostgreSQL stopped (fast) for ${PG_DOWN_S} s and started again while mail arrives at ${BACKGROUND_RATE}/s`);
    const stop = this.background(BACKGROUND_RATE);
    await sleep(2000);
    const o = await this.outage('postgres', PG_DOWN_S, () => this.pg!.stop(), () => this.pg!.start());
    await sleep(2000);
    const n = await stop();
    say(`  appended ${n} during the phase`);
    await this.check('3 postgres restart', 120_000, o);
  }

  /** Until the mailbox's live watcher reports IDLE and no message came for a few seconds. */
  private async watcherIdles(): Promise<boolean> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const r = await this.pool!.query<{ state: string; mode: string | null; quiet: boolean }>(
        `select state, mode, coalesce(last_message_at < now() - interval '2 seconds', true) as quiet from mailbox_watchers where heartbeat_at > now() - interval '15 seconds'`,
      );
      if (r.rows.some((w) => w.state === 'connected' && w.mode === 'idle' && w.quiet)) return true;
      await sleep(250);
    }
    return false;
  }

  async phase4(): Promise<void> {
    say(`phase 4: Dovecot restarted while the watcher idles (at once, then down for ${DOVECOT_DOWN_S} s)`);
    const problems: string[] = [];
    if (!(await this.watcherIdles())) problems.push('the watcher did not report IDLE before the restart');
    const before = this.appender!.count;
    await this.dovecot!.restart();
    say('  Dovecot restarted at once');
    await sleep(1000);
    await this.appender!.pace(20, 20);
    const quick = await this.settle(60_000);
    if (!quick.settled) problems.push(`mail after the quick restart not taken in within 60 s: ${JSON.stringify(quick.state)}`);
    else say(`  ${this.appender!.count - before} new messages taken in ${quick.seconds.toFixed(1)} s after the quick restart`);
    if (!(await this.watcherIdles())) problems.push('the watcher did not report IDLE before the second restart');
    const o = await this.outage('dovecot', DOVECOT_DOWN_S, () => stopDovecotGroup(this.dovecot!), () => this.dovecot!.restart());
    const mid = this.appender!.count;
    await this.appender!.pace(50, 25);
    const counts = { ...o.counts, newMessagesAfter: this.appender!.count - before, quickRestartTakenInS: quick.settled ? Math.round(quick.seconds * 10) / 10 : null };
    // The watcher reconnects with full-jitter backoff (up to 60 s): after a 10 s outage the next try may be half a minute away.
    const after = await this.settle(120_000);
    if (!after.settled) problems.push(`mail after Dovecot came back not taken in within 120 s: ${JSON.stringify(after.state)}`);
    else say(`  ${this.appender!.count - mid} new messages taken in ${after.seconds.toFixed(1)} s after they were appended (/readyz 200 again ${o.counts.readyzBackInS} s after Dovecot was)`);
    await this.check('4 dovecot restart', 60_000, { problems: [...problems, ...o.problems], counts });
  }

  async phase5(): Promise<void> {
    say(`phase 5: the SMTP server answers 451 for ${SMTP_REFUSE_S} s while mail arrives at ${BACKGROUND_RATE}/s`);
    const stop = this.background(BACKGROUND_RATE);
    await sleep(1000);
    const refusedBefore = this.sink!.refusals;
    const from = Date.now();
    this.sink!.refuse();
    await sleep(SMTP_REFUSE_S * 1000);
    this.sink!.accept();
    const to = Date.now();
    const n = await stop();
    const refusals = this.sink!.refusals - refusedBefore;
    const seen = this.readyz!.count(from, to);
    say(`  appended ${n} during the phase; ${refusals} messages answered 451`);
    const problems = refusals === 0 ? ['the SMTP server refused nothing: no mail was tried during the refusal'] : [];
    this.outages.smtp = { seconds: Math.round((to - from) / 100) / 10, readyz503: seen.unavailable, readyzSamples: seen.samples, readyzErrors: seen.error, recoveredInS: null };
    // Retries back off from 5 s, doubling: a row first refused as the refusal began is tried again about 75 s later.
    await this.check('5 smtp refuses', 180_000, { problems, counts: { refusalSeconds: SMTP_REFUSE_S, refused451: refusals, readyz503NotExpected: seen.unavailable } });
  }

  async phase6(): Promise<void> {
    const fleet = this.fleet!;
    say('phase 6: SIGTERM to every process with jobs in flight');
    const problems: string[] = [];
    // Each mail takes 1.5 s to be answered, so send jobs are running when the signal comes.
    this.sink!.setDelay(1500);
    await this.appender!.pace(150, 100);
    const deadline = Date.now() + 30_000;
    while (this.sink!.inFlight() < 2 && Date.now() < deadline) await sleep(50);
    const inFlight = this.sink!.inFlight();
    const pendingBefore = Number((await this.pool!.query<{ n: string }>(`select count(*) as n from outbox where status = 'pending'`)).rows[0]!.n);
    const results = await fleet.terminateAll(30_000);
    this.sigterm.inFlight = results.map((r) => ({ name: r.name, ms: r.ms, code: r.code }));
    const maxMs = Math.max(...results.map((r) => r.ms));
    say(`  SIGTERM with ${inFlight} mails in flight at the SMTP server, ${pendingBefore} outbox rows pending: ${results.map((r) => `${r.name} ${r.ms} ms (code ${r.code}${r.signal ? `, ${r.signal}` : ''})`).join(', ')}`);
    for (const r of results) {
      if (r.ms > SIGTERM_LIMIT_MS || r.killed) problems.push(`${r.name} took ${r.ms} ms to exit after SIGTERM${r.killed ? ' (killed after 30 s)' : ''}`);
      if (r.code !== 0) problems.push(`${r.name} exited with code ${r.code}, signal ${r.signal}`);
    }
    if (inFlight === 0) problems.push('no mail was in flight when SIGTERM came');
    // Drained: whatever the SMTP server accepted before the processes left is recorded as sent.
    await sleep(2000);
    const outbox = await checkOutbox(this.pool!, this.sink!.deliveries);
    if (outbox.deliveredButPending) problems.push(`${outbox.deliveredButPending} mails accepted by the SMTP server are still pending in the outbox (not drained)`);
    this.sink!.setDelay(0);
    for (const m of fleet.members) m.unexpectedExits.length = 0;
    const sigterm: PhaseResult = { phase: '6 sigterm', pass: problems.length === 0, problems, counts: { maxExitMs: maxMs, inFlightMails: inFlight, pendingOutbox: pendingBefore, deliveredButPending: outbox.deliveredButPending, exits: this.sigterm.inFlight } };
    this.results.push(sigterm);
    say(`${sigterm.pass ? 'PASS' : 'FAIL'} 6 sigterm: max exit ${maxMs} ms (limit ${SIGTERM_LIMIT_MS}), ${inFlight} mails in flight, accepted but still pending ${outbox.deliveredButPending}`);
    for (const p of problems) say(`  problem: ${p}`);

    say('  starting every process again: what was left must finish');
    fleet.startAll();
    await fleet.waitUp();
    await this.check('7 after restart', 120_000);
    const idle = await fleet.terminateAll(30_000);
    this.sigterm.idle = idle.map((r) => ({ name: r.name, ms: r.ms, code: r.code }));
    say(`  SIGTERM when idle: ${idle.map((r) => `${r.name} ${r.ms} ms (code ${r.code})`).join(', ')}`);
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    this.fleet?.killAll();
    await this.decider?.stop().catch(() => undefined);
    await this.readyz?.stop().catch(() => undefined);
    await this.appender?.close().catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
    await this.dovecot?.stop().catch(() => undefined);
    await this.sink?.stop().catch(() => undefined);
    await this.redis?.destroy().catch(() => undefined);
    await this.pg?.destroy().catch(() => undefined);
    await this.fleet?.closeLogs().catch(() => undefined);
    if (this.sink && this.logs) {
      // What the SMTP server accepted, one line each, for reading a double send against the process logs.
      const lines = this.sink.accepted.map((a) => JSON.stringify({ at: new Date(a.at).toISOString(), messageId: a.messageId, to: a.to, session: a.session, sessionClosedAt: this.sink!.closedAt.has(a.session) ? new Date(this.sink!.closedAt.get(a.session)!).toISOString() : null }));
      const kills = (this.fleet?.killLog ?? []).map((k) => JSON.stringify({ at: new Date(k.at).toISOString(), killed: k.name }));
      await writeFile(join(this.logs, 'smtp-accepted.jsonl'), lines.join('\n') + '\n').catch(() => undefined);
      await writeFile(join(this.logs, 'kills.jsonl'), kills.join('\n') + '\n').catch(() => undefined);
    }
    if (this.dir) {
      await rm(join(this.dir, 'pg'), { recursive: true, force: true }).catch(() => undefined);
      await rm(join(this.dir, 'redis'), { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

function describeMessages(m: MessageCounts): string {
  return JSON.stringify(summarizeMessages(m));
}

function summarizeMessages(m: MessageCounts) {
  return { appended: m.appended, cases: m.cases, kept: m.kept, missing: m.missing, duplicated: m.duplicated, quarantined: m.quarantined, unprocessed: m.unprocessed, misclassified: m.misclassified, caseMismatch: m.caseMismatch, unexpectedRaw: m.unexpectedRaw, casesNew: m.casesNew, casesNotDecidedOnce: m.casesNotDecidedOnce, caseStatus: m.byStatus };
}

function describeOutbox(o: OutboxCounts): string {
  return JSON.stringify(summarizeOutbox(o));
}

function summarizeOutbox(o: OutboxCounts) {
  return { rows: o.rows, sent: o.sent, pending: o.pending, failed: o.failed, bounced: o.bounced, acceptedTwice: o.sentTwice, sentNeverAccepted: o.sentNeverDelivered, acceptedButPending: o.deliveredButPending, unknownAccepted: o.strangerDeliveries, smtpAccepted: o.deliveries, retried: o.retried, byKind: o.byKind };
}

function summarizeApprovals(a: ApprovalCounts, d: Decider) {
  return { ...a, decidedByLink: d.decided(), posts: d.posts, answered200: d.wins, answered409: d.conflicts, postErrors: d.errors, approvalsWith200Twice: d.doubleWins() };
}

function table(run: Run): string {
  const rows = run.results.map((r) => {
    const c = r.counts as { messages?: { appended: number; missing: number; duplicated: number }; outbox?: { rows: number; acceptedTwice: number; failed: number; pending: number }; approvals?: { decidedTwice: number } };
    const extra = Object.entries(r.counts)
      .filter(([k]) => !['messages', 'outbox', 'approvals', 'killedByProcess', 'exits'].includes(k))
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' ');
    return [r.phase, r.pass ? 'PASS' : 'FAIL', c.messages ? String(c.messages.appended) : '', c.messages ? `${c.messages.missing}/${c.messages.duplicated}` : '', c.outbox ? String(c.outbox.rows) : '', c.outbox ? `${c.outbox.acceptedTwice}/${c.outbox.failed}/${c.outbox.pending}` : '', c.approvals ? String(c.approvals.decidedTwice) : '', extra];
  });
  const head = ['phase', 'result', 'messages', 'missing/dup', 'outbox', 'twice/failed/pending', 'decided twice', 'details'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join(' | ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const run = new Run();
  const interrupted = () => {
    say('interrupted: cleaning up');
    void run.cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    say(`case-intake chaos: ${MESSAGES} messages${SHORT ? ', short outages (CHAOS_SHORT=1)' : ''}`);
    await run.setup();
    await run.phase1();
    await run.phase2();
    await run.phase3();
    await run.phase4();
    await run.phase5();
    await run.phase6();
  } catch (err) {
    say(`aborted: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    run.results.push({ phase: 'aborted', pass: false, problems: [String(err)], counts: {} });
  } finally {
    await run.cleanup();
  }
  const pass = run.results.length > 0 && run.results.every((r) => r.pass);
  const last = [...run.results].reverse().find((r) => r.counts.messages) ?? null;
  const maxSigterm = Math.max(0, ...run.sigterm.inFlight.map((r) => r.ms), ...run.sigterm.idle.map((r) => r.ms));
  console.log('');
  console.log(table(run));
  console.log('');
  console.log(
    JSON.stringify({
      chaos: pass ? 'pass' : 'fail',
      short: SHORT,
      seconds: Math.round((Date.now() - t0) / 1000),
      messages: run.appender?.count ?? 0,
      kills: run.fleet?.kills ?? 0,
      resentAfterKill: run.resentAfterKill.length,
      resentOtherwise: run.resentOtherwise.length,
      smtpDataAborted: run.sink?.abortedData ?? 0,
      outages: run.outages,
      sigtermMaxExitMs: maxSigterm,
      sigterm: run.sigterm,
      final: last?.counts ?? null,
      phases: run.results.map((r) => ({ phase: r.phase, pass: r.pass, problems: r.problems, ...r.counts })),
      logs: run.logs,
    }),
  );
  return pass ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
