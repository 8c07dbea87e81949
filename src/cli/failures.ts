import { DomainError, errorMessage } from '../errors';
import { EXIT } from './exit-codes';

/** What the command line says about a failed command, and its exit code. */
export interface Failure {
  message: string;
  code: number;
}

export interface FailureContext {
  /** The command's words (`quarantine list`). */
  command: string;
  databaseUrl: string;
  redisUrl: string;
}

/** The error and its causes, outermost first (a MigrationError keeps the driver's error as its cause). */
function chain(err: unknown): unknown[] {
  const errors: unknown[] = [];
  for (let e = err; e != null && errors.length < 10 && !errors.includes(e); e = (e as { cause?: unknown }).cause) errors.push(e);
  return errors;
}

const codeOf = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** A word the shell takes as it is, or the word in single quotes. */
const shellWord = (word: string) => (/^[\w.,:/@%+=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/**
 * The commands that create the database DATABASE_URL names, then its tables: the one line an
 * operator needs when PostgreSQL answers that it does not exist. Never the password.
 */
export function createDatabaseHint(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || url.searchParams.get('host');
  const words = ['createdb'];
  if (host) words.push('-h', host);
  if (url.port && url.port !== '5432') words.push('-p', url.port);
  if (url.username) words.push('-U', decodeURIComponent(url.username));
  words.push(name);
  return `the database "${name}" does not exist on ${url.host || host || 'the local server'}: create it with \`${words.map(shellWord).join(' ')} && case-intake migrate\``;
}

function unreachable(err: unknown, context: FailureContext): string | null {
  const codes = chain(err).map(codeOf);
  const message = errorMessage(err);
  if (!codes.some((c) => c === 'ECONNREFUSED' || c === 'ENOTFOUND' || c === 'ETIMEDOUT') && !/ECONNREFUSED/.test(message)) return null;
  const target = /6379|redis/i.test(message) ? `Redis (${context.redisUrl})` : `PostgreSQL (${new URL(context.databaseUrl).host})`;
  return `cannot reach ${target}: ${message}. Is it running? See README.md, "Troubleshooting".`;
}

/**
 * Any failure but a usage error, as one line and a code. `ingest` answers every failure that did
 * not store the message with 75 on purpose: the MTA keeps the message and retries, so a missing
 * database or a stopped PostgreSQL loses no mail while the operator puts it right.
 */
export function describeFailure(err: unknown, context: FailureContext): Failure {
  const ingest = context.command === 'ingest';
  const notThere = (message: string): Failure => ({ message, code: ingest ? EXIT.tempFail : EXIT.unavailable });
  if (err instanceof DomainError) return { message: err.message, code: err.code === 'unavailable' ? EXIT.unavailable : EXIT.dataError };
  const codes = chain(err).map(codeOf);
  if (codes.includes('3D000')) return notThere(createDatabaseHint(context.databaseUrl));
  if (codes.includes('42P01')) return notThere(`the database has no case-intake tables yet: run \`case-intake migrate\` first (${errorMessage(err)})`);
  const connection = unreachable(err, context);
  if (connection) return notThere(connection);
  return { message: `case-intake ${context.command} failed: ${errorMessage(err)}`, code: ingest ? EXIT.tempFail : EXIT.failure };
}
