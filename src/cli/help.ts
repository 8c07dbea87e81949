import type { CommandSpec, OptionSpec } from './commands';
import { EXIT_MEANINGS } from './exit-codes';

/** Everything here is text from the command table (commands.ts): pure, so it is tested as such. */

const WIDTH = 80;
/** Where the summaries of the command list start; a longer usage puts its summary on the next line. */
const COLUMN = 35;

/** `text` broken into lines of at most `width` characters, each after `indent`. */
export function wrap(text: string, indent = '', width = WIDTH): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, indent + line].join('\n');
}

const optionUsage = (o: OptionSpec) => (o.value ? `--${o.name} ${o.value}` : `--${o.name}`);

/** `case-intake directory import FILE [--replace]` */
export function usageLine(command: CommandSpec): string {
  return ['case-intake', ...command.words, ...command.args, ...command.options.map((o) => `[${optionUsage(o)}]`)].join(' ');
}

/** A left column and its explanation, wrapped beside it (or below it, when the column is too wide). */
function entry(left: string, says: string, column = COLUMN): string {
  const indent = ' '.repeat(column);
  const said = wrap(says, indent);
  return left.length + 4 <= column ? `  ${left.padEnd(column - 2)}${said.slice(column)}` : `  ${left}\n${said}`;
}

/** `case-intake`, `--help` and `help`: every command, one line each. */
export function commandList(table: readonly CommandSpec[], description: string): string {
  return [
    wrap(`case-intake: ${description}`),
    '',
    'Usage: case-intake <command> [arguments] [options]',
    '',
    'Commands:',
    ...table.map((c) => entry(usageLine(c).slice('case-intake '.length), c.summary)),
    entry('help [COMMAND]', 'this list, or what COMMAND does and takes'),
    entry('version', 'print the version (also --version, -V)'),
    '',
    wrap('`case-intake COMMAND --help` (or -h) says what a command does and takes, without running it. Configuration comes from the environment (and a .env file); see README.md.'),
    '',
    'Exit codes:',
    ...EXIT_MEANINGS.map(([code, meaning]) => entry(String(code), meaning, 8)),
  ].join('\n');
}

/** `COMMAND --help`: its usage, what it does and its options; for a group (`staff`), each of its commands. */
export function commandHelp(commands: readonly CommandSpec[]): string {
  return commands
    .map((c) =>
      [
        `Usage: ${usageLine(c)}`,
        '',
        wrap(c.about, '  '),
        ...(c.options.length ? ['', 'Options:', ...c.options.map((o) => entry(optionUsage(o), o.says, 24))] : []),
      ].join('\n'),
    )
    .join('\n\n');
}

/** Under a usage error, on standard error: the usage of the command's group and where to read more. */
export function usageReminder(commands: readonly CommandSpec[]): string {
  const lines = commands.map((c, i) => `${i ? '       ' : 'usage: '}${usageLine(c)}`);
  const name = commands.length === 1 ? commands[0]!.words.join(' ') : commands[0]!.words[0]!;
  return [...lines, `Run \`case-intake ${name} --help\` for more.`].join('\n');
}
