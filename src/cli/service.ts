import { startService } from '../app';
import { closeContext, createContext, type AppContext } from '../context';
import type { Config } from '../config/config';
import { createLogger } from '../log';
import { ROLES, type Role } from '../roles';
import { EXIT } from './exit-codes';
import { UsageError } from './usage-error';

/** The service's context for one command, logging to standard error, closed when `use` is done. */
export async function withContext(config: Config, use: (ctx: AppContext) => Promise<number>): Promise<number> {
  const ctx = await createContext(config, createLogger(config.logLevel, 2));
  try {
    return await use(ctx);
  } finally {
    await closeContext(ctx);
  }
}

/** `--role watcher,worker` (or repeated): the roles this process runs; all when none is given. */
export function parseRoles(values: readonly string[]): Set<Role> {
  const given = values.flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean);
  const unknown = given.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length) throw new UsageError(`unknown role ${unknown.join(', ')}: use ${ROLES.join(', ')}`);
  return new Set(given.length ? (given as Role[]) : ROLES);
}

/** `start`: runs until SIGTERM or SIGINT. */
export async function start(config: Config, roleValues: readonly string[]): Promise<number> {
  const roles = parseRoles(roleValues);
  // Listen for signals before anything starts: a SIGTERM during start-up waits for start-up
  // to finish, then shuts down cleanly like any other.
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const ctx = await createContext(config, createLogger(config.logLevel, 1));
  const service = await startService(ctx, roles).catch(async (err: unknown) => {
    await closeContext(ctx);
    throw err;
  });
  ctx.log.info({ signal: await signalled }, 'shutting down');
  await service.stop();
  await closeContext(ctx);
  ctx.log.flush();
  return EXIT.ok;
}
