/**
 * `npm run bench`: N generated messages through a real Dovecot mailbox into decided cases.
 *
 * Fill: N messages (70% members, 25% strangers, 5% auto-replies; 2% with an attachment of
 * 100 KB to 5 MB; one message of BENCH_LARGE_MB decimal MB, 25 by default, under the default
 * MAX_MESSAGE_BYTES of 25 MiB) go straight into the private Dovecot's maildir, which Dovecot then
 * indexes when the mailbox is opened. For N = 5000 (375 MB) on the 2-core test machine this takes
 * 2.5 to 4 s (`fillSeconds`) plus 0.2 s (`indexSeconds`); APPENDing them one by one over one IMAP
 * connection took 15.7 s.
 * Floor: the same N messages fetched over one IMAP connection as the watcher fetches them and
 * parsed with mailparser, no database, no queue. It runs BEFORE the service, so both read a mailbox
 * Dovecot has already indexed, from the same warm page cache.
 * Backlog: the service starts in this process; emails/s is N over the time from the first message
 * stored (the first fetch done) to the last decision (each message a decided case or kept
 * automatic mail). Peak RSS is sampled every 100 ms from the service's start to its stop.
 * Steady: messages are APPENDed at BENCH_RATE a second for BENCH_STEADY_SECONDS while the
 * watcher IDLEs; latency per message from the end of its APPEND to its decision.
 * Commit point: `phases.commitPointWindow` summarises, for the backlog's sends, how long each
 * one's commit point stayed open (from the COMMIT's write to the dot's), the process's exposure
 * to a crash losing a mail; it comes from the service's own histogram (Metrics.commitPointWindow).
 * Long header line: after everything else, messages with one header line of 768 KiB and 1 MiB
 * (Delivered-To, X-Original-To, Content-Type, Cc) taken in one at a time (`longHeaderLine`).
 * Prints one JSON line. BENCH_N (default 5000), BENCH_RATE (50), BENCH_STEADY_SECONDS (10),
 * BENCH_LARGE_MB (25; 0 for none).
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import v8 from 'node:v8';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { sql } from 'kysely';
import pino from 'pino';
import { startService } from '../../src/app';
import { closeContext, createContext } from '../../src/context';
import { searchCases } from '../../src/cases/search';
import { migrateToLatest } from '../../src/db/migrate';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { NO_DIRECTORY_EFFECTS } from '../../src/directory/changes';
import { loadOverview } from '../../src/ops/overview';
import { startDovecot } from '../support/dovecot';
import { createTestDatabase, deleteRedisPrefix, testConfig } from '../support/env';
import { commitWindowSummary, cpuSince, cpuSnapshot, measureFloor, measureLongHeaders, percentile, round, syscallSnapshot } from './measure';
import { benchMessage, deliverToMaildir, GENERATED_MEMBERS, largeMessage, STRANGER_COUNT, withGeneratedMembers, type MessageClass } from './messages';
import { startCountingSink } from './sink';

const N = Number(process.env.BENCH_N ?? 5000);
const RATE = Number(process.env.BENCH_RATE ?? 50);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 10);
const LARGE_MB = Number(process.env.BENCH_LARGE_MB ?? 25);
const LARGE_AT = Math.floor(N / 2);
const ROOT = join(__dirname, '../../..');
/** How often today's help desks poll (30 s at best): the polling comparison's interval; 0 skips it. */
const POLL_SECONDS = Number(process.env.BENCH_POLL_SECONDS ?? 30);
/** Messages appended, evenly over two intervals, while a poll-only service watches the mailbox. */
const POLL_MESSAGES = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (d: Date | string | null | undefined) => (d ? new Date(d).getTime() : NaN);

async function main(): Promise<void> {
  const dovecot = await startDovecot();
  // Outbound mail goes to an SMTP server in a child process that only counts it, as a relay would.
  const sink = await startCountingSink();
  const database = await createTestDatabase();
  // Each member writes several of the backlog's messages within the hour: the per-address
  // ceilings (SENDER_CASE_LIMIT, AUTO_REPLY_PER_SENDER_PER_HOUR) and the per-company approval
  // mail cap are lifted so members' cases open and are acknowledged as they would be, instead of
  // being held as rate_limited and mailing nobody.
  const config = testConfig(database.url, {
    IMAP_URL: dovecot.url,
    IMAP_POLL_SECONDS: String(POLL_SECONDS || 30),
    SMTP_URL: sink.url,
    APPROVAL_MAIL_PER_HOUR: '1000000',
    SENDER_CASE_LIMIT: '1000000',
    AUTO_REPLY_PER_SENDER_PER_HOUR: '1000000',
  });
  // BENCH_LOG=warn (or info) shows the service's own log lines on stderr; silent by default.
  const ctx = await createContext(config, pino({ level: process.env.BENCH_LOG ?? 'silent' }, pino.destination(2)));
  let peakRss = 0;
  // What the process held when its RSS peaked: V8's heap, and buffers outside it.
  let atPeak: NodeJS.MemoryUsage | null = null;
  let peakAt = 0;
  // V8's heap by space at that moment: young objects, old ones, or large ones (big strings, arrays).
  let spacesAtPeak: v8.HeapSpaceInfo[] = [];
  let rssTimer: NodeJS.Timeout | undefined;
  try {
    await migrateToLatest(ctx.db);
    await importDirectory(ctx.db, parseDirectoryFile(withGeneratedMembers(JSON.parse(await readFile(join(ROOT, 'fixtures/directory.json'), 'utf8')))), { replace: false, effects: NO_DIRECTORY_EFFECTS });

    // Fill the maildir; count what was generated, by class.
    const mix: Record<MessageClass | 'withAttachment' | 'large', number> = { member: 0, stranger: 0, auto_reply: 0, withAttachment: 0, large: 0 };
    let largestBytes = 0;
    let totalBytes = 0;
    function* backlog(): Generator<Buffer> {
      for (let i = 0; i < N; i++) {
        const m = i === LARGE_AT && LARGE_MB > 0 ? largeMessage(i, 'backlog', Math.round(LARGE_MB * 1_000_000)) : benchMessage(i, 'backlog');
        mix[m.class]++;
        if (i === LARGE_AT && LARGE_MB > 0) mix.large++;
        else if (m.attachmentBytes) mix.withAttachment++;
        largestBytes = Math.max(largestBytes, m.raw.length);
        totalBytes += m.raw.length;
        yield m.raw;
      }
    }
    let t = performance.now();
    await deliverToMaildir(join(dovecot.dir, 'home'), backlog());
    const fillSeconds = (performance.now() - t) / 1000;
    const imap = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false });
    t = performance.now();
    await imap.connect();
    // Opening the mailbox makes Dovecot take the new files in and index them.
    const opened = await imap.mailboxOpen('INBOX');
    const indexSeconds = (performance.now() - t) / 1000;
    if (opened.exists !== N) throw new Error(`the mailbox holds ${opened.exists} messages, not ${N}`);

    // The floor starts from the same clean heap the service does: no garbage from generating.
    (globalThis as { gc?: () => void }).gc?.();
    const floor = await measureFloor({ host: dovecot.host, port: dovecot.port, user: dovecot.user, password: dovecot.password }, config.maxMessageBytes);
    if (floor.messages !== N) throw new Error(`the floor parsed ${floor.messages} messages, not ${N}`);

    // Done with a message: its case is decided, or it was kept as automatic mail (no case at all).
    const decidedCount = async () => {
      const cases = await ctx.db.selectFrom('cases').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '!=', 'new').executeTakeFirstOrThrow();
      const kept = await ctx.db.selectFrom('raw_messages').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'kept').executeTakeFirstOrThrow();
      return Number(cases.n) + Number(kept.n);
    };
    const waitForDecisions = async (count: number, what: string) => {
      const deadline = Date.now() + 15 * 60_000;
      while ((await decidedCount()) < count) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for the ${what} to be decided`);
        await sleep(100);
      }
    };

    // Peak memory is the service's: forget what generating the backlog and the floor took.
    (globalThis as { gc?: () => void }).gc?.();
    peakRss = process.memoryUsage.rss();
    rssTimer = setInterval(() => {
      const m = process.memoryUsage();
      if (m.rss > peakRss) [peakRss, atPeak, peakAt, spacesAtPeak] = [m.rss, m, Date.now(), v8.getHeapSpaceStatistics()];
    }, 100);
    const run = { database: new URL(database.url).pathname.slice(1), dovecotPort: dovecot.port, dovecotDir: dovecot.dir, redisPort: Number(new URL(config.redisUrl).port || 6379), sinkPid: sink.pid };
    const cpuBefore = cpuSnapshot(run);
    const syscallsBefore = syscallSnapshot();
    const serviceStarted = Date.now();
    const service = await startService(ctx);
    await waitForDecisions(N, 'backlog');
    const cpu = cpuSince(cpuBefore, run);
    const syscalls = syscallSnapshot();
    const times = await sql<{ first: Date; last_stored: Date; last_case: Date | null; last_kept: Date | null; to_case_p50: number; to_decision_p50: number }>`
      select min(r.received_at) as first, max(r.received_at) as last_stored,
             max(c.decided_at) as last_case, max(r.processed_at) filter (where r.status = 'kept') as last_kept,
             percentile_cont(0.5) within group (order by extract(epoch from c.created_at - r.received_at) * 1000) as to_case_p50,
             percentile_cont(0.5) within group (order by extract(epoch from c.decided_at - c.created_at) * 1000) as to_decision_p50
      from raw_messages r left join cases c on c.id = r.case_id`.execute(ctx.db);
    const span = times.rows[0]!;
    const lastDecision = Math.max(ms(span.last_case) || 0, ms(span.last_kept) || 0);
    const backlogSeconds = (lastDecision - ms(span.first)) / 1000;
    // What the large message holds up: from the message before it stored to the one after it stored.
    const around = await sql<{ before: Date | null; after: Date | null; stored: Date }>`
      select (select received_at from raw_messages where uid = l.uid - 1) as before, (select received_at from raw_messages where uid = l.uid + 1) as after, l.received_at as stored
      from raw_messages l where l.message_id = ${`backlog-${LARGE_AT}@bench.test`}`.execute(ctx.db);
    // When the backlog's peak came, from the large message's storing: tells its cost from the rest's.
    const peakAfterLargeStoredMs = LARGE_MB > 0 && around.rows[0] && peakAt ? peakAt - ms(around.rows[0].stored) : null;
    const largeStallMs = LARGE_MB > 0 && around.rows[0] ? ms(around.rows[0].after) - ms(around.rows[0].before) : null;
    const outcomes = await sql<{ outcome: string; n: string }>`
      select coalesce(c.status || coalesce(':' || c.hold_reason, ''), r.status || coalesce(':' || r.kind, '')) as outcome, count(*) as n
      from raw_messages r left join cases c on c.id = r.case_id group by 1 order by 1`.execute(ctx.db);

    // Let the mail the decisions wrote go out before the steady phase, so it does not compete.
    const pendingMail = async () => Number((await ctx.db.selectFrom('outbox').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'pending').executeTakeFirstOrThrow()).n);
    const drainDeadline = Date.now() + 120_000;
    while ((await pendingMail()) > 0 && Date.now() < drainDeadline) await sleep(200);
    const mailDrainedSeconds = (Date.now() - lastDecision) / 1000;
    // Sends step aside while the watcher is behind (SEND_YIELD_SECONDS): the same backlog counted
    // to its last mail sent, for what the burst's people waited for their acknowledgements.
    const lastSent = await ctx.db.selectFrom('outbox').select((eb) => eb.fn.max('sent_at').as('at')).executeTakeFirstOrThrow();
    const toLastMailSeconds = (ms(lastSent.at as Date | null) - ms(span.first)) / 1000;
    const commitWindow = await commitWindowSummary(service.metrics.commitPointWindow);

    // Steady phase: fixed-rate arrivals while the watcher idles; the same mix of messages.
    const arrivals = new Map<string, number>();
    const steadyCount = RATE * STEADY_SECONDS;
    const started = Date.now();
    for (let i = 0; i < steadyCount; i++) {
      const wait = started + (i * 1000) / RATE - Date.now();
      if (wait > 0) await sleep(wait);
      const m = benchMessage(i, 'steady');
      await imap.append('INBOX', m.raw);
      arrivals.set(m.messageId, Date.now());
    }
    const appendSeconds = (Date.now() - started) / 1000;
    await waitForDecisions(N + steadyCount, 'steady messages');
    // Milliseconds from each message's APPEND to its decision, for one phase's Message-IDs.
    const latenciesOf = async (prefix: string, appended: Map<string, number>) => {
      const rows = await ctx.db
        .selectFrom('raw_messages as r')
        .leftJoin('cases as c', 'c.id', 'r.case_id')
        .select(['r.message_id', 'c.decided_at', 'r.processed_at', 'r.status'])
        .where('r.message_id', 'like', `${prefix}-%`)
        .execute();
      return rows
        .map((r) => (r.status === 'kept' ? ms(r.processed_at) : ms(r.decided_at)) - (appended.get(r.message_id ?? '') ?? NaN))
        .filter((x) => Number.isFinite(x))
        .sort((a, b) => a - b);
    };
    const latencies = await latenciesOf('steady', arrivals);
    if (latencies.length !== steadyCount) throw new Error(`latency for ${latencies.length} of ${steadyCount} steady messages`);

    // What one dashboard refresh costs on this many cases: the overview's queries and a case page's list.
    const timed = async (work: () => Promise<unknown>) => {
      const samples: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        await work();
        samples.push(performance.now() - t0);
      }
      return round(percentile(samples.sort((a, b) => a - b), 50));
    };
    const dashboardTimes = async () => ({ overviewP50Ms: await timed(() => loadOverview(ctx.db)), casesPageP50Ms: await timed(() => searchCases(ctx.db, { q: 'steady' }, { page: 2 })) });
    const dashboard = await dashboardTimes();
    // The same once PostgreSQL has statistics for the filled tables, as autovacuum's ANALYZE
    // would give it (where autovacuum is off, as on the test machine, they are never gathered).
    await sql`analyze`.execute(ctx.db);
    const dashboardAfterAnalyze = await dashboardTimes();
    const pgSettings = await sql<{ version: string; autovacuum: string }>`select current_setting('server_version') as version, current_setting('autovacuum') as autovacuum`.execute(ctx.db);

    const health = await service.health();
    await service.stop();
    clearInterval(rssTimer);

    // Polling, as help desks do today: the same service with IMAP_IDLE=false, polling every
    // POLL_SECONDS, while POLL_MESSAGES messages arrive evenly over two intervals.
    let polling: { pollSeconds: number; messages: number; meanMs: number; p50Ms: number; maxMs: number | undefined } | null = null;
    if (POLL_SECONDS > 0) {
      const pollCtx = await createContext({ ...config, imapIdle: false, imapPollMs: POLL_SECONDS * 1000 }, pino({ level: 'silent' }));
      try {
        const pollService = await startService(pollCtx);
        const pollArrivals = new Map<string, number>();
        const pollStarted = Date.now();
        for (let i = 0; i < POLL_MESSAGES; i++) {
          const wait = pollStarted + (i * 2 * POLL_SECONDS * 1000) / POLL_MESSAGES - Date.now();
          if (wait > 0) await sleep(wait);
          const m = benchMessage(i, 'poll');
          await imap.append('INBOX', m.raw);
          pollArrivals.set(m.messageId, Date.now());
        }
        await waitForDecisions(N + steadyCount + POLL_MESSAGES, 'messages under polling');
        await pollService.stop();
        const waited = await latenciesOf('poll', pollArrivals);
        polling = { pollSeconds: POLL_SECONDS, messages: waited.length, meanMs: Math.round(waited.reduce((a, b) => a + b, 0) / waited.length), p50Ms: percentile(waited, 50), maxMs: waited.at(-1) };
      } finally {
        await closeContext(pollCtx);
      }
    }
    await imap.logout();
    // Last, with the service stopped: a poison header line must cost milliseconds, not minutes.
    const longHeaderLine = await measureLongHeaders(ctx.intake);
    const emailsPerSecond = N / backlogSeconds;
    const floorEmailsPerSecond = N / floor.seconds;
    const steady = { rate: RATE, messages: latencies.length, appendSeconds: round(appendSeconds, 2), p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: latencies.at(-1) };
    console.log(
      JSON.stringify({
        n: N,
        emailsPerSecond: round(emailsPerSecond),
        floorEmailsPerSecond: round(floorEmailsPerSecond),
        ratio: round(emailsPerSecond / floorEmailsPerSecond, 3),
        emailsPerSecondToLastMailSent: round(N / toLastMailSeconds),
        backlogSeconds: round(backlogSeconds, 2),
        floorSeconds: round(floor.seconds, 2),
        // From the service's start (migrations, recovery sweep, IMAP login) to the last decision.
        serviceStartToLastDecisionSeconds: round((lastDecision - serviceStarted) / 1000, 2),
        phases: {
          storedWithinSeconds: round((ms(span.last_stored) - ms(span.first)) / 1000, 2),
          lastDecisionAfterLastStoredMs: lastDecision - ms(span.last_stored),
          storedToCaseP50Ms: round(Number(span.to_case_p50)),
          caseToDecisionP50Ms: round(Number(span.to_decision_p50)),
          // The watcher takes the large message in alone, between the messages around it.
          largeMessageStallMs: largeStallMs,
          peakRssMsAfterLargeStored: peakAfterLargeStoredMs,
          cpuSeconds: cpu,
          // The service's read and write system calls per backlog message (its round trips).
          syscallsPerMessage: { reads: round((syscalls.reads - syscallsBefore.reads) / N), writes: round((syscalls.writes - syscallsBefore.writes) / N) },
          mailDrainedSecondsAfterLastDecision: round(mailDrainedSeconds, 1),
          // The backlog's sends: how long each one's commit point stayed open (a crash inside loses that mail).
          commitPointWindow: commitWindow,
        },
        steady,
        idle: { mode: 'mode' in health.mailbox ? health.mailbox.mode : null, p50Ms: steady.p50Ms, p99Ms: steady.p99Ms },
        // The same service polling every POLL_SECONDS instead of waiting on IDLE (IMAP_IDLE=false).
        polling,
        peakRssMb: Math.round(peakRss / 1024 / 1024),
        atPeakMb: atPeak && Object.fromEntries(Object.entries(atPeak as NodeJS.MemoryUsage).map(([k, v]) => [k, Math.round(Number(v) / 1024 / 1024)])),
        heapSpacesAtPeakMb: Object.fromEntries(spacesAtPeak.filter((sp) => sp.space_size > 0).map((sp) => [sp.space_name.replace(/_space$/, ''), Math.round(sp.space_used_size / 1024 / 1024)])),
        largestMessageMb: round(largestBytes / 1_000_000, 2),
        mix,
        mailboxMb: round(totalBytes / 1_000_000),
        outcomes: Object.fromEntries(outcomes.rows.map((r) => [r.outcome, Number(r.n)])),
        fillSeconds: round(fillSeconds, 2),
        indexSeconds: round(indexSeconds, 2),
        dashboard,
        dashboardAfterAnalyze,
        longHeaderLine,
        mailsSent: await sink.count(),
        strangers: Math.min(STRANGER_COUNT, mix.stranger),
        members: GENERATED_MEMBERS + 5,
        machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version, mallocArenaMax: process.env.MALLOC_ARENA_MAX ?? null, mallocMmapThreshold: process.env.MALLOC_MMAP_THRESHOLD_ ?? null, heapLimitMb: Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20), postgres: pgSettings.rows[0] },
      }),
    );
  } finally {
    clearInterval(rssTimer);
    await closeContext(ctx);
    await database.drop();
    await deleteRedisPrefix(config.queuePrefix);
    await dovecot.stop();
    await sink.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
