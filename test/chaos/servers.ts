/**
 * Private PostgreSQL and Redis servers for the chaos run, on free loopback ports, with their data
 * in the run's own directory: stopping them hurts nobody else (the machine's own servers, which
 * the test suite uses, are never touched).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from '../support/smtp-sink';

const run = promisify(execFile);

export function pgBinDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`no PostgreSQL server binaries under ${base} (run scripts/ensure-chaos-servers.sh)`);
  return join(base, newest, 'bin');
}

export interface PrivatePostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:PORT/DB */
  url(db: string): string;
  /** `pg_ctl stop -m fast`: every connection is dropped, the server is down until start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good (immediate), for the cleanup. */
  destroy(): Promise<void>;
}

/** As root, PostgreSQL runs as the `postgres` account; otherwise as ourselves. */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

async function owned(path: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  await chown(path, Number(stdout.trim()), Number(gid.trim()));
}

export async function startPrivatePostgres(dir: string, logFile: string): Promise<PrivatePostgres> {
  const bin = pgBinDir();
  const data = join(dir, 'data');
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  await owned(dir);
  await writeFile(logFile, '');
  await owned(logFile);
  const pgctl = async (...args: string[]) => {
    const [cmd, argv] = asPostgres(join(bin, 'pg_ctl'), args);
    await run(cmd, argv, { timeout: 60_000 });
  };
  {
    const [cmd, argv] = asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    await run(cmd, argv, { timeout: 120_000 });
  }
  const port = await freePort();
  // Throwaway data: no fsync. Enough connections for every process's pool and lease.
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB`;
  const start = () => pgctl('start', '-D', data, '-w', '-t', '60', '-l', logFile, '-o', options);
  await start();
  return {
    port,
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    stop: () => pgctl('stop', '-D', data, '-m', 'fast', '-w', '-t', '60'),
    start,
    destroy: async () => {
      await pgctl('stop', '-D', data, '-m', 'immediate', '-w', '-t', '20').catch(() => undefined);
    },
  };
}

export async function createDatabase(pg: PrivatePostgres, name: string): Promise<void> {
  const c = new Client({ connectionString: pg.url('postgres') });
  await c.connect();
  try {
    await c.query(`create database ${name}`);
  } finally {
    await c.end();
  }
}

export interface PrivateRedis {
  port: number;
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * redis-server as the machine runs its own: nothing kept on disk, so a stop loses every queue
 * (PostgreSQL is the record; the service's sweep queues again what is still to do).
 */
export async function startPrivateRedis(dir: string, logFile: string): Promise<PrivateRedis> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  let child: ChildProcess | null = null;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', logFile, '--daemonize', 'no'];
  const ping = async () => {
    try {
      const { stdout } = await run('redis-cli', ['-p', String(port), 'ping'], { timeout: 2000 });
      return stdout.trim() === 'PONG';
    } catch {
      return false;
    }
  };
  const start = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    const deadline = Date.now() + 15_000;
    while (!(await ping())) {
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${port}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (c.exitCode === null) {
      c.kill('SIGKILL');
      await exited;
    }
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, start, stop, destroy: stop };
}
