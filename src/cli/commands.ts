import { parseArgs } from 'node:util';
import type { Config } from '../config/config';
import { errorMessage } from '../errors';
import { ROLES } from '../roles';
import { UsageError } from './usage-error';

/**
 * The commands of `case-intake`: one table that both dispatch (main.ts) and help (help.ts) read.
 * The implementations are imported only when their command runs, so `--help` and `--version`
 * load none of the service (no configuration, no database, no Redis) and answer at once.
 */

export interface OptionSpec {
  readonly name: string;
  /** The value's placeholder (`N`); an option without one is a flag. */
  readonly value?: string;
  /** Given more than once, the values add up. */
  readonly multiple?: boolean;
  readonly says: string;
}

export type OptionValues = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export interface CommandSpec {
  /** The words that name it: `['quarantine', 'list']`. */
  readonly words: readonly string[];
  /** Its positional arguments, all required. */
  readonly args: readonly string[];
  readonly options: readonly OptionSpec[];
  /** One line, for the list of commands. */
  readonly summary: string;
  /** What it does, for its --help. */
  readonly about: string;
  /** Given the arguments the table's shape admits; returns the exit code. */
  run(args: readonly string[], options: OptionValues, config: Config): Promise<number>;
}

const text = (options: OptionValues, name: string) => options[name] as string | undefined;

export const COMMANDS: readonly CommandSpec[] = [
  {
    words: ['migrate'],
    args: [],
    options: [],
    summary: 'apply database migrations',
    about:
      'Applies the migrations the database does not have yet and prints each one it applied, or "database is up to date". ' +
      'Two processes migrating at once apply each migration once. `start`, `directory import`, `staff` and `webhooks` apply pending migrations themselves. ' +
      'The database must exist: create it with createdb first.',
    run: async (_args, _options, config) => (await import('./database.js')).migrate(config),
  },
  {
    words: ['start'],
    args: [],
    options: [{ name: 'role', value: 'ROLE[,ROLE]', multiple: true, says: `run only these roles: ${ROLES.join(', ')} (comma-separated, or repeated; all by default)` }],
    summary: 'run the mail watcher, workers and HTTP server',
    about:
      'Applies pending migrations, then runs the service until SIGTERM or SIGINT: the mailbox watcher, the queue workers and the HTTP server (API, dashboard, portal). ' +
      'On a signal it stops taking mail and HTTP requests, gives running jobs 7 seconds to finish, and exits within 10 seconds.',
    run: async (_args, options, config) => (await import('./service.js')).start(config, (options.role as string[] | undefined) ?? []),
  },
  {
    words: ['ingest'],
    args: [],
    options: [],
    summary: 'take in one raw message from standard input',
    about:
      'Reads one message from standard input and stores it, as a new case, a reply to one, kept automatic mail or a quarantined message. ' +
      'Prints one line (`stored as CASE-000042`, `added to CASE-000042`, `stored (kept)`, `already stored (duplicate)`); logs go to standard error. ' +
      'Exits 0 once the message is stored (a duplicate too), 65 on empty input, and 75 when it was not stored (PostgreSQL unreachable, the database missing, any unexpected error): an MTA then keeps the message and retries.',
    run: async (_args, _options, config) => (await import('./intake.js')).ingest(config),
  },
  {
    words: ['directory', 'import'],
    args: ['FILE'],
    options: [{ name: 'replace', says: 'also remove the contacts and permissions that listed companies no longer list (those made in the portal or by approval are kept)' }],
    summary: 'upsert companies, infrastructures and contacts from JSON',
    about:
      'Applies pending migrations, then upserts the companies, infrastructures, contacts and permissions the JSON file FILE lists (docs/directory.md, "Directory file format"). ' +
      'Held cases that the import now lets open are released and their senders mailed. Every problem in the file is reported at once (exit 65) and nothing changes.',
    run: async ([file], options, config) => (await import('./directory.js')).directoryImport(config, file!, options.replace === true),
  },
  {
    words: ['quarantine', 'list'],
    args: [],
    options: [{ name: 'limit', value: 'N', says: 'at most N messages, from 1 to 1000 (default 100)' }],
    summary: 'list messages that could not become a case',
    about: 'Prints one tab-separated line per quarantined message, newest first: id, received, from, subject, error.',
    run: async (_args, options, config) => (await import('./intake.js')).quarantineList(config, text(options, 'limit')),
  },
  {
    words: ['quarantine', 'retry'],
    args: ['ID'],
    options: [],
    summary: 'take a quarantined message in again',
    about:
      'Takes the quarantined message ID (see `quarantine list`) in again. ' +
      'Exits 0 when it became a case or kept message (or was no longer quarantined), 65 when it is still quarantined or there is no such message.',
    run: async ([id], _options, config) => (await import('./intake.js')).quarantineRetry(config, id!),
  },
  {
    words: ['staff', 'add'],
    args: ['EMAIL'],
    options: [],
    summary: 'add a dashboard account or set its password',
    about:
      'Adds the dashboard account EMAIL, or sets a new password for it; a new password ends its sessions. ' +
      'The password is asked twice without echo on a terminal, else read from the first line of standard input.',
    run: async ([email], _options, config) => (await import('./staff.js')).staffAdd(config, email!),
  },
  {
    words: ['staff', 'remove'],
    args: ['EMAIL'],
    options: [],
    summary: 'remove a dashboard account and its sessions',
    about: 'Removes the dashboard account EMAIL and ends its sessions; exits 65 when there is no such account.',
    run: async ([email], _options, config) => (await import('./staff.js')).staffRemove(config, email!),
  },
  {
    words: ['staff', 'list'],
    args: [],
    options: [],
    summary: 'list dashboard accounts',
    about: 'Prints one tab-separated line per dashboard account: email, created, last sign-in.',
    run: async (_args, _options, config) => (await import('./staff.js')).staffList(config),
  },
  {
    words: ['webhooks', 'add'],
    args: ['URL'],
    options: [{ name: 'events', value: 'TYPE[,TYPE]', says: 'send only these event types (all by default)' }],
    summary: 'send events to a help desk at URL',
    about:
      "Adds a webhook endpoint: events are sent to URL (https://, or http:// on a private network), signed. Prints the endpoint's id and its signing secret, " +
      'shown only this once: give it to the receiver (README.md, "Connecting a help desk").',
    run: async ([url], options, config) => (await import('./webhooks.js')).webhooksAdd(config, url!, text(options, 'events')),
  },
  {
    words: ['webhooks', 'list'],
    args: [],
    options: [],
    summary: 'list webhook endpoints and their deliveries',
    about: 'Prints one tab-separated line per endpoint: id, URL, event types, deliveries pending, failed and delivered, last delivered.',
    run: async (_args, _options, config) => (await import('./webhooks.js')).webhooksList(config),
  },
  {
    words: ['webhooks', 'remove'],
    args: ['ID'],
    options: [],
    summary: 'remove a webhook endpoint',
    about: 'Removes the endpoint ID; its undelivered events are not sent. Exits 65 when there is no such endpoint.',
    run: async ([id], _options, config) => (await import('./webhooks.js')).webhooksRemove(config, id!),
  },
  {
    words: ['webhooks', 'test'],
    args: ['ID'],
    options: [],
    summary: 'send a signed webhook.test event now',
    about: 'Sends a signed webhook.test event to the endpoint ID at once and prints the answer. Exits 0 on a 2xx answer, 69 otherwise.',
    run: async ([id], _options, config) => (await import('./webhooks.js')).webhooksTest(config, id!),
  },
];

/** The commands `words` names: one command, or every command of a group (`staff`); none if unknown. */
export function commandsNamed(words: readonly string[], table: readonly CommandSpec[] = COMMANDS): CommandSpec[] {
  return table.filter((c) => words.every((w, i) => c.words[i] === w));
}

export type Found =
  | { kind: 'command'; command: CommandSpec; rest: string[] }
  /** A group's name without one of its commands (`staff`, `staff frobnicate`). */
  | { kind: 'group'; name: string; commands: CommandSpec[]; rest: string[] }
  | { kind: 'unknown'; word: string };

/** Which command the words of a command line name, and the arguments left for it. */
export function findCommand(argv: readonly string[], table: readonly CommandSpec[] = COMMANDS): Found {
  const [first = ''] = argv;
  const group = commandsNamed([first], table);
  if (!group.length) return { kind: 'unknown', word: first };
  const command = group.find((c) => c.words.every((w, i) => argv[i] === w));
  if (command) return { kind: 'command', command, rest: argv.slice(command.words.length) };
  return { kind: 'group', name: first, commands: group, rest: argv.slice(1) };
}

/** `--help` or `-h` anywhere before a `--`: the command is explained, never run. */
export function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** The arguments and options of a command line, checked against the command's shape. */
export function parseCommandLine(command: CommandSpec, args: readonly string[]): { args: string[]; options: OptionValues } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(command.options.map((o) => [o.name, { type: o.value ? ('string' as const) : ('boolean' as const), multiple: o.multiple ?? false }])),
    });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  const given = parsed.positionals;
  const name = `case-intake ${command.words.join(' ')}`;
  if (given.length < command.args.length) throw new UsageError(`${name}: missing ${command.args.slice(given.length).join(' ')}`);
  if (given.length > command.args.length) {
    throw new UsageError(command.args.length ? `${name}: unexpected argument "${given[command.args.length]}"` : `${name} takes no arguments`);
  }
  return { args: given, options: parsed.values };
}
