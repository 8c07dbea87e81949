import type { Config } from '../config/config';
import { asksForHelp, COMMANDS, commandsNamed, findCommand, parseCommandLine, type CommandSpec } from './commands';
import { EXIT } from './exit-codes';
import { describeFailure } from './failures';
import { commandHelp, commandList, usageReminder } from './help';
import { UsageError } from './usage-error';
import { packageInfo } from './version';

export { EXIT } from './exit-codes';

const HELP = ['--help', '-h'];
const VERSION = ['version', '--version', '-V'];

const list = () => commandList(COMMANDS, packageInfo().description);

/** A command line that does not fit: what is wrong and the usage, on standard error. */
function usageError(message: string, usage: string): number {
  console.error(`${message}\n\n${usage}`);
  return EXIT.usage;
}

/** `help [COMMAND...]`: the list, or one command's (or group's) help. */
function help(words: string[]): number {
  if (!words.length) {
    console.log(list());
    return EXIT.ok;
  }
  const named = commandsNamed(words);
  if (!named.length) return usageError(`no command "${words.join(' ')}"`, list());
  console.log(commandHelp(named));
  return EXIT.ok;
}

/**
 * The command line: help and the version answer without reading the configuration (nor touching
 * the database or Redis); every other command loads the configuration, then runs. Returns the
 * exit code.
 */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) return usageError('case-intake needs a command', list());
  if (HELP.includes(first)) return help([]);
  if (first === 'help') return help(rest);
  if (VERSION.includes(first)) {
    console.log(packageInfo().version);
    return EXIT.ok;
  }
  const found = findCommand(argv);
  if (found.kind === 'unknown') return usageError(`unknown command "${found.word}"`, list());
  const group = found.kind === 'group' ? found.commands : commandsNamed([found.command.words[0]!]);
  if (asksForHelp(found.rest)) {
    console.log(commandHelp(found.kind === 'group' ? group : [found.command]));
    return EXIT.ok;
  }
  if (found.kind === 'group') {
    const sub = found.rest[0];
    return usageError(sub === undefined ? `case-intake ${found.name} needs a command` : `unknown ${found.name} command "${sub}"`, usageReminder(group));
  }
  let given: ReturnType<typeof parseCommandLine>;
  try {
    given = parseCommandLine(found.command, found.rest);
  } catch (err) {
    if (err instanceof UsageError) return usageError(err.message, usageReminder(group));
    throw err;
  }
  // Loaded only now: the configuration's schema (zod) is most of what help would otherwise load.
  const { ConfigError, loadConfig, loadDotEnv } = await import('../config/config.js');
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
  return run(found.command, given, config, group);
}

async function run(command: CommandSpec, given: ReturnType<typeof parseCommandLine>, config: Config, group: CommandSpec[]): Promise<number> {
  try {
    return await command.run(given.args, given.options, config);
  } catch (err) {
    if (err instanceof UsageError) return usageError(err.message, usageReminder(group));
    const failure = describeFailure(err, { command: command.words.join(' '), databaseUrl: config.databaseUrl, redisUrl: config.redisUrl });
    console.error(failure.message);
    return failure.code;
  }
}
