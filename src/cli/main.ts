import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ROLES, startService, type Role } from '../app';
import { closeContext, createContext } from '../context';
import { ConfigError, loadConfig, loadDotEnv, type Config } from '../config/config';
import { createDb } from '../db/connection';
import { migrateToLatest } from '../db/migrate';
import { parseDirectoryFile } from '../directory/file-format';
import { importDirectory } from '../directory/import';
import { directoryEffects } from '../approvals/admissions';
import { enqueueDeliveries } from '../queue/handlers';
import { DomainError, errorMessage } from '../errors';
import { fileFromStream } from '../intake/ingest';
import { listQuarantine, rawMessageStatus, retryQuarantined } from '../intake/quarantine';
import { createLogger } from '../log';
import { staffCommand, STAFF_USAGE } from './staff';
import { webhooksCommand, WEBHOOKS_USAGE } from './webhooks';
import { UsageError } from './usage-error';

/** sysexits(3) codes: an MTA piping into `ingest` retries on 75 and bounces on the others. */
export const EXIT = { ok: 0, failure: 1, usage: 64, dataError: 65, unavailable: 69, tempFail: 75, config: 78 } as const;

const USAGE = `Usage: case-intake <command>

Commands:
  migrate                          apply database migrations
  start [--role ROLE[,ROLE]]       run the mailbox watcher, queue workers and HTTP server;
                                   --role watcher, worker or web runs only those (all by default)
  ingest                           take in one raw RFC 5322 message from standard input
  directory import FILE [--replace]
                                   upsert companies, infrastructures and contacts from JSON;
                                   --replace also removes what listed companies no longer list
  quarantine list [--limit N]      list messages that could not become a case, newest first
                                   (id, received, from, subject, error; tab-separated)
  quarantine retry ID              take a quarantined message in again; exits 0 when it became
                                   a case (or was kept), 65 when it is still quarantined
${STAFF_USAGE}
${WEBHOOKS_USAGE}

Configuration comes from the environment (and a .env file); see README.md.`;

function describeConnectionError(err: unknown, config: Config): string | null {
  const code = (err as { code?: string } | null)?.code;
  const message = errorMessage(err);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === '3D000' || /ECONNREFUSED/.test(message)) {
    const target = /6379|redis/i.test(message) ? `Redis (${config.redisUrl})` : `PostgreSQL (${new URL(config.databaseUrl).host})`;
    return `cannot reach ${target}: ${message}. Is it running? See README.md, "Running it".`;
  }
  return null;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command ? EXIT.ok : EXIT.usage;
  }
  loadDotEnv();
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return EXIT.config;
    }
    throw err;
  }
  try {
    return await run(command, rest, config);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    if (err instanceof DomainError) {
      console.error(err.message);
      return err.code === 'unavailable' ? EXIT.unavailable : EXIT.dataError;
    }
    if ((err as { code?: string } | null)?.code === '42P01') {
      console.error(`the database has no case-intake tables yet: run \`case-intake migrate\` first (${errorMessage(err)})`);
      return command === 'ingest' ? EXIT.tempFail : EXIT.unavailable;
    }
    const connection = describeConnectionError(err, config);
    if (connection) {
      console.error(connection);
      return command === 'ingest' ? EXIT.tempFail : EXIT.unavailable;
    }
    console.error(`case-intake ${command} failed: ${errorMessage(err)}`);
    return command === 'ingest' ? EXIT.tempFail : EXIT.failure;
  }
}

async function run(command: string, args: string[], config: Config): Promise<number> {
  switch (command) {
    case 'migrate': {
      const db = createDb(config.databaseUrl, { max: 2 });
      try {
        const results = await migrateToLatest(db);
        console.log(results.length ? results.map((r) => `applied ${r.migrationName}`).join('\n') : 'database is up to date');
      } finally {
        await db.destroy();
      }
      return EXIT.ok;
    }
    case 'directory': {
      const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { replace: { type: 'boolean', default: false } } });
      const [sub, file] = positionals;
      if (sub !== 'import' || !file || positionals.length !== 2) throw new UsageError('usage: case-intake directory import FILE [--replace]');
      let json: unknown;
      try {
        json = JSON.parse(await readFile(file, 'utf8'));
      } catch (err) {
        throw new DomainError('invalid_input', `cannot read ${file}: ${errorMessage(err)}`);
      }
      const directory = parseDirectoryFile(json);
      const migrating = createDb(config.databaseUrl, { max: 1 });
      try {
        await migrateToLatest(migrating);
      } finally {
        await migrating.destroy();
      }
      // The service's context: an import that lets someone open cases releases their held cases
      // and mails them, as an approval does.
      const ctx = await createContext(config, createLogger(config.logLevel, 2));
      try {
        const s = await importDirectory(ctx.db, directory, { replace: values.replace, effects: directoryEffects(ctx.approvals) });
        await enqueueDeliveries(ctx, s.outboxIds);
        console.log(
          `imported ${s.companies} companies, ${s.infrastructures} infrastructures, ${s.contacts} contacts, ${s.permissions} permissions` +
            (values.replace ? `; removed ${s.removedContacts} contacts, ${s.removedPermissions} permissions` : '') +
            (values.replace && (s.keptContacts || s.keptPermissions) ? `; kept ${s.keptContacts} contacts, ${s.keptPermissions} permissions made in the portal or by approval` : '') +
            (s.releasedCases ? `; released ${s.releasedCases} held cases` : ''),
        );
      } finally {
        await closeContext(ctx);
      }
      return EXIT.ok;
    }
    case 'ingest': {
      if (args.length) throw new UsageError('ingest takes no arguments; it reads the message from standard input');
      const input = (process.stdin as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      const first = await input.next();
      if (first.done || first.value.length === 0) throw new DomainError('invalid_input', 'no message on standard input');
      const ctx = await createContext(config, createLogger(config.logLevel, 2));
      try {
        // Read as it comes: a message over MAX_MESSAGE_BYTES streams into storage.
        const result = await fileFromStream(ctx.intake, (async function* () {
          yield first.value;
          for (let next = await input.next(); !next.done; next = await input.next()) yield next.value;
        })(), { source: 'pipe' });
        const said =
          result.outcome === 'case'
            ? `stored as ${result.reference}`
            : result.outcome === 'reply'
              ? result.holdReason
                ? `added to ${result.reference}, held (${result.holdReason})`
                : `added to ${result.reference}`
              : result.outcome === 'duplicate'
                ? 'already stored (duplicate)'
                : `stored (${result.outcome})`;
        console.log(said);
      } finally {
        await closeContext(ctx);
      }
      return EXIT.ok;
    }
    case 'quarantine':
      return quarantineCommand(args, config);
    case 'staff':
      return staffCommand(args, config);
    case 'webhooks':
      return webhooksCommand(args, config);
    case 'start': {
      const roles = parseRoles(args);
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
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** `--role watcher,worker` (or repeated): the roles this process runs; all when none is given. */
function parseRoles(args: string[]): Set<Role> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { role: { type: 'string', multiple: true } } });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  const given = (parsed.values.role ?? []).flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean);
  const unknown = given.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length) throw new UsageError(`unknown role ${unknown.join(', ')}: use ${ROLES.join(', ')}`);
  return new Set(given.length ? (given as Role[]) : ROLES);
}

/** One line per value: tabs and line breaks inside a value would break the columns. */
const cell = (value: string | null): string => (value === null || value === '' ? '-' : value.replace(/[\t\r\n]+/g, ' '));

async function quarantineCommand(args: string[], config: Config): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { limit: { type: 'string' } } });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  const { positionals, values } = parsed;
  const [sub, id] = positionals;
  if (sub === 'list') {
    if (positionals.length !== 1) throw new UsageError('usage: case-intake quarantine list [--limit N]');
    const limit = values.limit === undefined ? 100 : /^\d+$/.test(values.limit) ? Number(values.limit) : NaN;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000');
    const ctx = await createContext(config, createLogger(config.logLevel, 2));
    try {
      const messages = await listQuarantine(ctx.db, { limit });
      if (!messages.length) console.log('quarantine is empty');
      for (const m of messages) console.log([m.id, m.receivedAt, cell(m.from), cell(m.subject), cell(m.error)].join('\t'));
    } finally {
      await closeContext(ctx);
    }
    return EXIT.ok;
  }
  if (sub === 'retry') {
    if (!id || positionals.length !== 2 || values.limit !== undefined) throw new UsageError('usage: case-intake quarantine retry ID');
    const ctx = await createContext(config, createLogger(config.logLevel, 2));
    try {
      const result = await retryQuarantined(ctx.intake, id);
      if (result?.outcome === 'case') {
        console.log(`now ${result.reference}`);
        return EXIT.ok;
      }
      if (result?.outcome === 'kept') {
        console.log(`now kept (${result.kind})`);
        return EXIT.ok;
      }
      if (result?.outcome === 'quarantined') {
        console.log(`still quarantined: ${result.error}`);
        return EXIT.dataError;
      }
      // Not quarantined (or another process took it in at the same moment): say where it stands.
      const now = await rawMessageStatus(ctx.db, id);
      if (!now) throw new DomainError('not_found', `no stored message with id ${id} (see \`case-intake quarantine list\`)`);
      console.log(`not quarantined (status ${now.status}${now.reference ? `, ${now.reference}` : ''})`);
      return EXIT.ok;
    } finally {
      await closeContext(ctx);
    }
  }
  throw new UsageError('usage: case-intake quarantine list [--limit N] | case-intake quarantine retry ID');
}
