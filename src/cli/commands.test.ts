import { ROLES } from '../roles';
import { asksForHelp, COMMANDS, commandsNamed, findCommand, parseCommandLine } from './commands';
import { UsageError } from './usage-error';

const named = (words: string[]) => commandsNamed(words)[0]!;

describe('the command table', () => {
  it('names each command once, and every command says what it does', () => {
    const names = COMMANDS.map((c) => c.words.join(' '));
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['migrate', 'start', 'ingest', 'directory import', 'quarantine list', 'quarantine retry', 'staff add', 'staff remove', 'staff list', 'webhooks add', 'webhooks list', 'webhooks remove', 'webhooks test']));
    for (const c of COMMANDS) {
      expect(c.summary.length).toBeGreaterThan(10);
      expect(c.about.length).toBeGreaterThan(c.summary.length);
      for (const o of c.options) expect(o.says.length).toBeGreaterThan(10);
    }
  });

  it("names every role in start's --role", () => {
    const role = named(['start']).options.find((o) => o.name === 'role')!;
    for (const r of ROLES) expect(role.says).toContain(r);
  });

  it('finds a command, a group without one of its commands, or nothing', () => {
    expect(findCommand(['quarantine', 'retry', '7', '--help'])).toEqual({ kind: 'command', command: named(['quarantine', 'retry']), rest: ['7', '--help'] });
    expect(findCommand(['migrate'])).toEqual({ kind: 'command', command: named(['migrate']), rest: [] });
    expect(findCommand(['staff', 'frobnicate'])).toEqual({ kind: 'group', name: 'staff', commands: commandsNamed(['staff']), rest: ['frobnicate'] });
    expect(findCommand(['staff'])).toMatchObject({ kind: 'group', rest: [] });
    expect(findCommand(['frobnicate', 'list'])).toEqual({ kind: 'unknown', word: 'frobnicate' });
  });

  it('sees --help and -h anywhere before a --', () => {
    expect(asksForHelp(['--help'])).toBe(true);
    expect(asksForHelp(['a@b.example', '-h'])).toBe(true);
    expect(asksForHelp(['--', '--help'])).toBe(false);
    expect(asksForHelp(['--helpful', 'h'])).toBe(false);
  });

  it('parses arguments and options as the table declares them', () => {
    expect(parseCommandLine(named(['directory', 'import']), ['dir.json', '--replace'])).toEqual({ args: ['dir.json'], options: { replace: true } });
    expect(parseCommandLine(named(['start']), ['--role', 'web', '--role', 'worker'])).toEqual({ args: [], options: { role: ['web', 'worker'] } });
    expect(parseCommandLine(named(['webhooks', 'add']), ['https://x.example', '--events', 'case.created'])).toEqual({ args: ['https://x.example'], options: { events: 'case.created' } });
  });

  it('refuses what the table does not declare, naming what is wrong', () => {
    const refusal = (words: string[], args: string[]) => {
      try {
        parseCommandLine(named(words), args);
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refusal(['directory', 'import'], [])).toBe('case-intake directory import: missing FILE');
    expect(refusal(['quarantine', 'retry'], ['1', '2'])).toBe('case-intake quarantine retry: unexpected argument "2"');
    expect(refusal(['ingest'], ['x.eml'])).toBe('case-intake ingest takes no arguments');
    expect(refusal(['quarantine', 'list'], ['--bogus'])).toMatch(/--bogus/);
    expect(refusal(['quarantine', 'list'], ['--limit'])).toMatch(/--limit/);
    expect(refusal(['webhooks', 'list'], ['--events', 'x'])).toMatch(/--events/);
  });
});
