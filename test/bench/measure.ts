/** What the bench measures besides the service itself: the floor, CPU per program, percentiles. */
import { readdirSync, readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import type { Histogram } from 'prom-client';
import { batchBySize } from '../../src/intake/checkpoints';
import { fileRawMessage } from '../../src/intake/ingest';
import type { IntakeDeps } from '../../src/intake/filing';
import { parseMime } from '../../src/intake/parse';
import { longHeaderLine, withLongHeader, type LongHeaderKind } from '../support/long-headers';

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

export interface ImapLogin {
  host: string;
  port: number;
  user: string;
  password: string;
}

/**
 * The floor: what reading the mailbox costs with nothing else to do. One imapflow connection
 * fetches every source in the ranges the watcher uses (sizes first, then at most 50 messages and
 * MAX_MESSAGE_BYTES a FETCH, with `client.fetch(range, { uid: true, source: true })`), and each
 * message goes through mailparser as intake runs it (`parseMime`). No database, no queue.
 * Returns the seconds from connecting to the last message parsed, and how many were parsed.
 */
export async function measureFloor(login: ImapLogin, maxMessageBytes: number): Promise<{ seconds: number; messages: number; bytes: number }> {
  const started = performance.now();
  const client = new ImapFlow({ host: login.host, port: login.port, secure: false, auth: { user: login.user, pass: login.password }, logger: false });
  await client.connect();
  let messages = 0;
  let bytes = 0;
  try {
    await client.mailboxOpen('INBOX', { readOnly: true });
    const listed = await client.fetchAll('1:*', { uid: true, size: true }, { uid: true });
    const batches = batchBySize(listed.map((m) => ({ uid: m.uid, size: m.size ?? 0 })), 50, Math.min(32 * 1024 * 1024, maxMessageBytes));
    for (const chunk of batches) {
      const parsing: Array<Promise<unknown>> = [];
      for await (const msg of client.fetch(chunk.join(','), { uid: true, source: true }, { uid: true })) {
        if (!msg.source) continue;
        bytes += msg.source.length;
        parsing.push(parseMime(msg.source).then(() => messages++));
      }
      await Promise.all(parsing);
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
  return { seconds: (performance.now() - started) / 1000, messages, bytes };
}

/** Which of this run's programs a process is, from its command line; null: not one we count. */
export interface RunProcesses {
  /** PostgreSQL backends serving this database (its title is `postgres: USER DATABASE ...`). */
  database: string;
  /** The private Dovecot's processes: its master runs with DIR/dovecot.conf, the others are titled `dovecot-test-PORT/...`. */
  dovecotPort: number;
  dovecotDir: string;
  /** The Redis server on this port. */
  redisPort: number;
  /** The bench's outbound SMTP server. */
  sinkPid: number | undefined;
}

function program(comm: string, cmdline: string, run: RunProcesses): 'postgres' | 'redis' | 'dovecot' | null {
  if (comm === 'postgres' && cmdline.split(' ').includes(run.database)) return 'postgres';
  if (comm.startsWith('redis-server') && cmdline.includes(`:${run.redisPort}`)) return 'redis';
  if (cmdline.startsWith(`dovecot-test-${run.dovecotPort}/`) || cmdline.includes(`${run.dovecotDir}/dovecot.conf`)) return 'dovecot';
  return null;
}

export type CpuSnapshot = Record<'service' | 'postgres' | 'redis' | 'dovecot' | 'smtpSink' | 'other', number>;

/**
 * CPU seconds used so far by this process (the service runs in it), by this run's PostgreSQL
 * backends, Redis server, Dovecot processes and SMTP sink, from /proc, and by everything else on
 * the machine (`other`: PostgreSQL's background processes, another test run competing for the
 * CPUs). A process of ours that ended in between counts as `other`; the service's own figure is
 * exact.
 */
export function cpuSnapshot(run: RunProcesses): CpuSnapshot {
  const own = process.cpuUsage();
  const snap: CpuSnapshot = { service: (own.user + own.system) / 1e6, postgres: 0, redis: 0, dovecot: 0, smtpSink: 0, other: 0 };
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return snap;
  }
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (Number(pid) === run.sinkPid) {
        snap.smtpSink += ticks(stat);
        continue;
      }
      if (!['postgres', 'dovecot', 'imap', 'imap-login', 'auth', 'anvil', 'log', 'config', 'stats'].includes(comm) && !comm.startsWith('redis-server')) continue;
      const which = program(comm, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim(), run);
      if (!which) continue;
      snap[which] += ticks(stat);
    } catch {
      continue; // gone while we looked
    }
  }
  // The machine's busy time: /proc/stat's first line (user nice system idle iowait irq softirq
  // steal guest guest_nice; guest time is already in user and nice) less idle, iowait and steal.
  try {
    const all = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const busy = all.slice(0, 7).reduce((a, b) => a + b, 0) - (all[3] ?? 0) - (all[4] ?? 0);
    snap.other = busy / 100 - snap.service - snap.postgres - snap.redis - snap.dovecot - snap.smtpSink;
  } catch {
    snap.other = NaN;
  }
  return snap;
}

/** A process's utime + stime (fields 14 and 15 of /proc/PID/stat, 100 ticks a second) in seconds. */
function ticks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function cpuSince(before: CpuSnapshot, run: RunProcesses): CpuSnapshot {
  const now = cpuSnapshot(run);
  const since = (key: keyof CpuSnapshot) => round(now[key] - before[key]);
  return { service: since('service'), postgres: since('postgres'), redis: since('redis'), dovecot: since('dovecot'), smtpSink: since('smtpSink'), other: since('other') };
}

/**
 * This process's read and write system calls so far, from /proc/self/io. A round trip to
 * PostgreSQL, Redis, the SMTP server or Dovecot is at least one of each; on this machine each
 * costs far more CPU than the work it carries, so their count per message is the figure to watch,
 * and unlike seconds it hardly varies from run to run.
 */
export function syscallSnapshot(): { reads: number; writes: number } {
  try {
    const io = Object.fromEntries(
      readFileSync('/proc/self/io', 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(': ') as [string, string]),
    );
    return { reads: Number(io.syscr), writes: Number(io.syscw) };
  } catch {
    return { reads: NaN, writes: NaN };
  }
}

/**
 * The commit point's window over a phase (see Metrics.commitPointWindow): how many sends, their
 * mean, how many stayed open over 1 and 5 ms, and the bucket bounds holding the median and the
 * 99th percentile (a histogram knows no more).
 */
export async function commitWindowSummary(histogram: Histogram): Promise<{ sends: number; meanMs: number; overOneMs: number; overFiveMs: number; p50AtMostMs: number | null; p99AtMostMs: number | null }> {
  const { values } = await histogram.get();
  const buckets = values.filter((v) => v.metricName?.endsWith('_bucket')).map((v) => ({ le: Number(v.labels.le), n: v.value }));
  const sends = values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
  const sum = values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  const within = (seconds: number) => buckets.find((b) => b.le === seconds)?.n ?? 0;
  const bound = (q: number) => {
    const hit = buckets.find((b) => b.n >= q * sends);
    return hit && Number.isFinite(hit.le) ? round(hit.le * 1000, 2) : null;
  };
  return { sends, meanMs: sends ? round((sum / sends) * 1000, 3) : 0, overOneMs: sends - within(0.001), overFiveMs: sends - within(0.005), p50AtMostMs: bound(0.5), p99AtMostMs: bound(0.99) };
}

/**
 * One message with one long header line, taken in alone after the bench's other phases (so it
 * slows none of their figures): wall and CPU milliseconds of each, and what became of it.
 * 768 KiB is read whole (mailparser and intake's own header reads); 1 MiB is past mailparser's
 * header limit and quarantined.
 */
export async function measureLongHeaders(intake: IntakeDeps): Promise<Array<{ kind: LongHeaderKind; kib: number; ms: number; cpuMs: number; outcome: string }>> {
  const results = [];
  const kinds: LongHeaderKind[] = ['Delivered-To', 'X-Original-To', 'Content-Type (long token)', 'Cc (many addresses)'];
  for (const kib of [768, 1024]) {
    for (const kind of kinds) {
      const raw = withLongHeader(`long-header-${kib}-${results.length}`, longHeaderLine(kind, kib * 1024));
      const cpu = process.cpuUsage();
      const t = performance.now();
      const result = await fileRawMessage(intake, raw, { source: 'pipe' });
      const used = process.cpuUsage(cpu);
      results.push({ kind, kib, ms: round(performance.now() - t), cpuMs: round((used.user + used.system) / 1000), outcome: result.outcome });
    }
  }
  return results;
}
