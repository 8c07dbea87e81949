/**
 * `npm run bench`: N generated messages through a real Dovecot mailbox into decided cases.
 *
 * Phase 1 (backlog): N messages wait in the mailbox before the service starts; emails/s is
 * measured from the first message stored to the last case decided.
 * Phase 2 (steady): messages arrive at a fixed rate while the service idles on the mailbox;
 * latency is from the end of each APPEND (arrival) to the case's decision.
 * Prints one JSON line. Sizes: BENCH_N (default 2000), BENCH_RATE (default 50/s), BENCH_STEADY_SECONDS (default 10).
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import pino from 'pino';
import { closeContext, createContext, startService } from '../../src/app';
import { loadOverview } from '../../src/ops/overview';
import { searchCases } from '../../src/cases/search';
import { migrateToLatest } from '../../src/db/migrate';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { startDovecot } from '../support/dovecot';
import { createTestDatabase, deleteRedisPrefix, testConfig } from '../support/env';
import { makeMessage } from '../support/messages';
import { startSmtpSink } from '../support/smtp-sink';

const N = Number(process.env.BENCH_N ?? 2000);
const RATE = Number(process.env.BENCH_RATE ?? 50);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 10);
const LARGE_MB = Number(process.env.BENCH_LARGE_MB ?? 0);
const ROOT = join(__dirname, '../../..');

const MEMBERS = ['bob@acme.test', 'carol@acme.test', 'erin@mail.test', 'alice@acme.test', 'gina@globex.test'];
const STRANGERS = ['mallory@acme.test', 'zed@nowhere.test', 'trent@elsewhere.test', 'ivan@initech.test'];

/** A message with one binary attachment of `bytes`, base64-encoded as mail carries it. */
function withAttachment(from: string, subject: string, id: string, bytes: number, filename: string): Buffer {
  const attachment = Buffer.alloc(bytes, bytes % 251).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    [
      `From: ${from}`,
      'To: support@support.example.com',
      `Subject: ${subject}`,
      `Message-ID: <${id}@bench.test>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'Attached.',
      '--b',
      `Content-Type: application/octet-stream; name="${filename}"`,
      `Content-Disposition: attachment; filename="${filename}"`,
      'Content-Transfer-Encoding: base64',
      '',
      attachment,
      '--b--',
      '',
    ].join('\r\n'),
  );
}

/** ~70% members, ~25% strangers, ~5% automatic replies; every 20th carries a 64 KiB attachment. */
function generate(i: number, phase: string): Buffer {
  const id = `${phase}-${i}`;
  const roll = i % 20;
  if (roll === 0) return withAttachment(MEMBERS[i % MEMBERS.length]!, `${phase} ${i} with logs`, id, 64 * 1024, 'log.bin');
  if (roll === 1) {
    return Buffer.from(makeMessage({ from: MEMBERS[i % MEMBERS.length]!, subject: `Out of office: ${phase} ${i}`, id }).toString().replace('MIME-Version', 'Auto-Submitted: auto-replied\r\nMIME-Version'));
  }
  const from = roll < 16 ? MEMBERS[i % MEMBERS.length]! : STRANGERS[i % STRANGERS.length]!;
  return makeMessage({ from, subject: `${phase} ${i}`, id });
}

/** A member's message with one attachment of `mb` MiB. */
function large(i: number, mb: number): Buffer {
  return withAttachment(MEMBERS[0]!, `backlog ${i} with a large dump`, `large-${i}`, mb * 1024 * 1024, 'core.bin');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
  const dovecot = await startDovecot();
  // Outbound mail (acknowledgements, held notices, approval requests) goes to a real SMTP sink.
  const sink = await startSmtpSink();
  const database = await createTestDatabase();
  const config = testConfig(database.url, { IMAP_URL: dovecot.url, IMAP_POLL_SECONDS: '30', SMTP_URL: sink.url, APPROVAL_MAIL_PER_HOUR: '100000' });
  const ctx = await createContext(config, pino({ level: 'silent' }));
  try {
    await migrateToLatest(ctx.db);
    await importDirectory(ctx.db, parseDirectoryFile(JSON.parse(await readFile(join(ROOT, 'fixtures/directory.json'), 'utf8'))), { replace: false });

    const imap = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false });
    await imap.connect();
    for (let i = 0; i < N; i++) {
      // One large message among the backlog (BENCH_LARGE_MB), to see what it does to memory.
      await imap.append('INBOX', i === Math.floor(N / 2) && LARGE_MB > 0 ? large(i, LARGE_MB) : generate(i, 'backlog'));
    }

    // Peak memory is the service's: forget what generating and appending the backlog took.
    (globalThis as { gc?: () => void }).gc?.();
    peakRss = process.memoryUsage.rss();
    const service = await startService(ctx);
    // Done with a message: its case is decided, or it was kept as automatic mail (no case at all).
    const decidedCount = async () => {
      const cases = await ctx.db.selectFrom('cases').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '!=', 'new').executeTakeFirstOrThrow();
      const kept = await ctx.db.selectFrom('raw_messages').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'kept').executeTakeFirstOrThrow();
      return Number(cases.n) + Number(kept.n);
    };
    while ((await decidedCount()) < N) await new Promise((r) => setTimeout(r, 100));
    const span = await ctx.db
      .selectFrom('raw_messages')
      .select((eb) => [eb.fn.min('received_at').as('first'), eb.fn.max('received_at').as('lastStored')])
      .executeTakeFirstOrThrow();
    const last = await ctx.db.selectFrom('cases').select((eb) => eb.fn.max('decided_at').as('last')).executeTakeFirstOrThrow();
    const storeSeconds = (new Date(span.lastStored as unknown as string).getTime() - new Date(span.first as unknown as string).getTime()) / 1000;
    const backlogSeconds = (new Date(last.last as unknown as string).getTime() - new Date(span.first as unknown as string).getTime()) / 1000;

    // Steady phase: fixed-rate arrivals while the watcher idles.
    const arrivals = new Map<string, number>();
    const steadyCount = RATE * STEADY_SECONDS;
    const started = Date.now();
    for (let i = 0; i < steadyCount; i++) {
      const due = started + (i * 1000) / RATE;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await imap.append('INBOX', generate(i, 'steady'));
      arrivals.set(`steady ${i}`, Date.now());
    }
    while ((await decidedCount()) < N + steadyCount) await new Promise((r) => setTimeout(r, 100));
    const steady = await ctx.db.selectFrom('cases').select(['subject', 'decided_at']).where('subject', 'like', '%steady %').execute();
    const latencies = steady
      .map((c) => {
        const key = /steady \d+/.exec(c.subject)?.[0];
        const arrived = key ? arrivals.get(key) : undefined;
        return arrived && c.decided_at ? c.decided_at.getTime() - arrived : NaN;
      })
      .filter((x) => Number.isFinite(x))
      .sort((a, b) => a - b);

    // What one dashboard refresh costs on this many cases: the overview's queries and a case page's list.
    const timed = async (work: () => Promise<unknown>) => {
      const ms: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        await work();
        ms.push(performance.now() - t0);
      }
      return Math.round(percentile(ms.sort((a, b) => a - b), 50) * 10) / 10;
    };
    const dashboard = { overviewP50Ms: await timed(() => loadOverview(ctx.db)), casesPageP50Ms: await timed(() => searchCases(ctx.db, { q: 'steady' }, { page: 2 })) };

    const health = await service.health();
    await imap.logout();
    await service.stop();
    clearInterval(rssTimer);
    console.log(
      JSON.stringify({
        n: N,
        largeMessageMb: LARGE_MB || null,
        emailsPerSecond: Math.round((N / backlogSeconds) * 10) / 10,
        backlogSeconds: Math.round(backlogSeconds * 100) / 100,
        storedWithinSeconds: Math.round(storeSeconds * 100) / 100,
        steady: { rate: RATE, messages: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: latencies.at(-1) },
        watcherMode: 'mode' in health.mailbox ? health.mailbox.mode : null,
        dashboard,
        mailsSent: sink.messages.length,
        peakRssMb: Math.round(peakRss / 1024 / 1024),
        machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version },
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
