import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import pino from 'pino';
import { closeContext, createContext, type AppContext } from '../../src/context';
import { loadConfig, type Config } from '../../src/config/config';
import { migrateToLatest } from '../../src/db/migrate';
import { deleteKeysUnder } from '../../src/queue/redis-keys';
import { createLogger } from '../../src/log';

/** The PostgreSQL server tests create their throwaway databases on (the machine's own, trust auth). */
export const TEST_PG = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database for one test file; dropped (connections and all) afterwards. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = uniqueName('ci_test');
  const admin = new Client({ connectionString: TEST_PG });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(TEST_PG);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: TEST_PG });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** Configuration for a test: its own database and Redis prefix, nothing from the developer's .env. */
export function testConfig(databaseUrl: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS,
    IMAP_URL: '',
    QUEUE_PREFIX: uniqueName('ci'),
    SUPPORT_ADDRESS: 'support@support.example.com',
    PORT: '0',
    LOG_LEVEL: 'silent',
    ...overrides,
  });
}

export interface TestApp {
  ctx: AppContext;
  database: TestDatabase;
  close(): Promise<void>;
}

/** A migrated database plus an application context wired to it, for integration tests. */
export async function createTestApp(overrides: Record<string, string> = {}, logLines?: string[]): Promise<TestApp> {
  const database = await createTestDatabase();
  // With `logLines`, the production logger (and its redaction) writes every line there.
  const log = logLines ? createLogger('debug', { write: (line: string) => void logLines.push(line) }) : pino({ level: 'silent' });
  const ctx = await createContext(testConfig(database.url, overrides), log);
  await migrateToLatest(ctx.db);
  return {
    ctx,
    database,
    async close() {
      await closeContext(ctx);
      await database.drop();
      await deleteRedisPrefix(ctx.config.queuePrefix);
    },
  };
}

/** Polls until `check` returns a value (not a timing assertion: it only bounds how long a broken test hangs). */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 15000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `work`, or `late()` once `ms` have passed, whichever comes first. The timer is cleared either
 * way: a bare `Promise.race` with a timeout leaves it running after the test, and jest's worker
 * then cannot exit.
 */
export async function within<T, L>(work: Promise<T>, ms: number, late: () => L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<L>((resolve) => (timer = setTimeout(() => resolve(late()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Removes every Redis key a test wrote under its own prefix. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  await deleteKeysUnder(TEST_REDIS, prefix);
}

/** The environment for running the real CLI against a test app's database and Redis prefix. */
export function cliEnv(app: TestApp): Record<string, string> {
  return { DATABASE_URL: app.database.url, REDIS_URL: TEST_REDIS, QUEUE_PREFIX: app.ctx.config.queuePrefix, LOG_LEVEL: 'silent' };
}
