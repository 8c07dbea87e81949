/** What the bench measures besides the service itself: the floor, CPU per program, percentiles. */
import { readdirSync, readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import { batchBySize } from '../../src/intake/checkpoints';

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
 * message goes through `simpleParser` with the service's options. No database, no queue.
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
        parsing.push(simpleParser(msg.source, { skipImageLinks: true, skipTextToHtml: true }).then(() => messages++));
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
}

function program(comm: string, cmdline: string, run: RunProcesses): 'postgres' | 'redis' | 'dovecot' | null {
  if (comm === 'postgres' && cmdline.split(' ').includes(run.database)) return 'postgres';
  if (comm.startsWith('redis-server') && cmdline.includes(`:${run.redisPort}`)) return 'redis';
  if (cmdline.startsWith(`dovecot-test-${run.dovecotPort}/`) || cmdline.includes(`${run.dovecotDir}/dovecot.conf`)) return 'dovecot';
  return null;
}

export type CpuSnapshot = Record<'service' | 'postgres' | 'redis' | 'dovecot', number>;

/**
 * CPU seconds used so far by this process (the service runs in it) and by this run's PostgreSQL
 * backends, Redis server and Dovecot processes, from /proc; other work on the machine (another
 * test run, PostgreSQL's own background processes) is not counted. Processes that ended in
 * between are lost, so those differences are lower bounds; the service's own figure is exact.
 */
export function cpuSnapshot(run: RunProcesses): CpuSnapshot {
  const own = process.cpuUsage();
  const snap: CpuSnapshot = { service: (own.user + own.system) / 1e6, postgres: 0, redis: 0, dovecot: 0 };
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
      if (!['postgres', 'dovecot', 'imap', 'imap-login', 'auth', 'anvil', 'log', 'config', 'stats'].includes(comm) && !comm.startsWith('redis-server')) continue;
      const which = program(comm, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim(), run);
      if (!which) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of stat, in clock ticks (100 a second on Linux).
      snap[which] += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      continue; // gone while we looked
    }
  }
  return snap;
}

export function cpuSince(before: CpuSnapshot, run: RunProcesses): CpuSnapshot {
  const now = cpuSnapshot(run);
  return { service: round(now.service - before.service), postgres: round(now.postgres - before.postgres), redis: round(now.redis - before.redis), dovecot: round(now.dovecot - before.dovecot) };
}
