import { COMMANDS, commandsNamed, type CommandSpec } from './commands';
import { EXIT_MEANINGS } from './exit-codes';
import { commandHelp, commandList, usageLine, usageReminder, wrap } from './help';

const longest = (text: string) => Math.max(...text.split('\n').map((l) => l.length));

const sample: CommandSpec = {
  words: ['things', 'add'],
  args: ['NAME', 'COLOUR'],
  options: [
    { name: 'dry-run', says: 'say what would change, change nothing' },
    { name: 'tag', value: 'TAG', multiple: true, says: 'label the thing; give it again for more labels, as many as you like, and they all apply to the thing' },
  ],
  summary: 'add a thing',
  about: 'Adds the thing NAME in COLOUR. '.repeat(6),
  run: async () => 0,
};

describe('command line help', () => {
  it('wraps words into lines of at most 80 characters, keeping every word', () => {
    const text = 'word '.repeat(60) + 'a-very-long-word-that-has-to-sit-on-a-line-of-its-own';
    const wrapped = wrap(text, '    ');
    expect(longest(wrapped)).toBeLessThanOrEqual(80);
    expect(wrapped.split('\n').every((l) => l.startsWith('    '))).toBe(true);
    expect(wrapped.split(/\s+/).filter(Boolean)).toEqual(text.split(/\s+/).filter(Boolean));
  });

  it('spells a usage line from the words, the arguments and the options', () => {
    expect(usageLine(sample)).toBe('case-intake things add NAME COLOUR [--dry-run] [--tag TAG]');
    expect(usageLine(commandsNamed(['directory', 'import'])[0]!)).toBe('case-intake directory import FILE [--replace]');
  });

  it('lists every command with its usage and summary, the exit codes, in 80 columns', () => {
    const list = commandList(COMMANDS, 'Turns mail into cases.');
    expect(list.split('\n')[0]).toBe('case-intake: Turns mail into cases.');
    for (const c of COMMANDS) {
      expect(list).toContain(`  ${usageLine(c).slice('case-intake '.length)}`);
      expect(list.replace(/\s+/g, ' ')).toContain(c.summary);
    }
    for (const [code, meaning] of EXIT_MEANINGS) expect(list.replace(/\s+/g, ' ')).toContain(`${code} ${meaning}`);
    expect(list).toMatch(/--help/);
    expect(longest(list)).toBeLessThanOrEqual(80);
  });

  it("explains a command: its usage, what it does and each option, in 80 columns", () => {
    const help = commandHelp([sample]);
    expect(help.split('\n')[0]).toBe('Usage: case-intake things add NAME COLOUR [--dry-run] [--tag TAG]');
    expect(help.replace(/\s+/g, ' ')).toContain(sample.about.trim());
    expect(help).toMatch(/\n {2}--dry-run +say what would change, change nothing\n/);
    expect(help).toMatch(/\n {2}--tag TAG +label the thing;/);
    expect(help.replace(/\s+/g, ' ')).toContain(sample.options[1]!.says);
    expect(longest(help)).toBeLessThanOrEqual(80);
    expect(commandHelp([{ ...sample, options: [] }])).not.toMatch(/Options:/);
  });

  it('explains every command of the table within 80 columns, and a group as each of its commands', () => {
    for (const c of COMMANDS) expect(longest(commandHelp([c]))).toBeLessThanOrEqual(80);
    const staff = commandHelp(commandsNamed(['staff']));
    for (const c of commandsNamed(['staff'])) expect(staff).toContain(commandHelp([c]));
  });

  it('reminds of the usage of the whole group after a usage error', () => {
    expect(usageReminder(commandsNamed(['quarantine']))).toBe(
      'usage: case-intake quarantine list [--limit N]\n       case-intake quarantine retry ID\nRun `case-intake quarantine --help` for more.',
    );
    expect(usageReminder(commandsNamed(['migrate']))).toBe('usage: case-intake migrate\nRun `case-intake migrate --help` for more.');
  });
});
