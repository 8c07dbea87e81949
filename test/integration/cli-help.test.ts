import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { COMMANDS, commandsNamed } from '../../src/cli/commands';
import { commandHelp, commandList } from '../../src/cli/help';
import { ROOT, runCli } from '../support/cli';
import { TEST_PG, TEST_REDIS, uniqueName } from '../support/env';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; description: string };

/** Every command and every group of commands (`staff`), by its words. */
const NAMES = [...new Set(COMMANDS.flatMap((c) => [c.words.join(' '), c.words[0]!]))].map((n) => n.split(' '));

describe('case-intake --help and --version', () => {
  // PostgreSQL and Redis here are a listener that counts who connects: help that touched either
  // would be seen, and would not get an answer it could work with.
  let trap: Server;
  let connections = 0;
  let env: Record<string, string>;
  beforeAll(async () => {
    trap = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    const port = (trap.address() as { port: number }).port;
    env = { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/case_intake`, REDIS_URL: `redis://127.0.0.1:${port}`, IMAP_URL: '', LOG_LEVEL: 'silent' };
  });
  afterAll(() => new Promise((resolve) => trap.close(resolve)));

  it("answers COMMAND --help for every command and group with the table's help, touching neither PostgreSQL nor Redis", async () => {
    const answers = await Promise.all(NAMES.map((words) => runCli([...words, '--help'], env)));
    NAMES.forEach((words, i) => {
      expect({ words, ...answers[i] }).toEqual({ words, code: 0, stdout: `${commandHelp(commandsNamed(words))}\n`, stderr: '' });
    });
    expect(connections).toBe(0);
  });

  it('answers -h and help COMMAND the same, and never reads the configuration', async () => {
    // PORT=x would stop any command that reads the configuration with exit 78.
    const broken = { ...env, PORT: 'x', NODE_ENV: 'production' };
    const [dashH, helpWords, lateHelp, list, listH, helpAlone] = await Promise.all([
      runCli(['webhooks', 'add', '-h'], broken),
      runCli(['help', 'quarantine', 'retry'], broken),
      runCli(['staff', 'add', 'agent@vendor.example', '--help'], broken),
      runCli(['--help'], broken),
      runCli(['-h'], broken),
      runCli(['help'], broken),
    ]);
    expect(dashH).toEqual({ code: 0, stdout: `${commandHelp(commandsNamed(['webhooks', 'add']))}\n`, stderr: '' });
    expect(helpWords).toEqual({ code: 0, stdout: `${commandHelp(commandsNamed(['quarantine', 'retry']))}\n`, stderr: '' });
    expect(lateHelp).toEqual({ code: 0, stdout: `${commandHelp(commandsNamed(['staff', 'add']))}\n`, stderr: '' });
    const listed = `${commandList(COMMANDS, pkg.description)}\n`;
    for (const answer of [list, listH, helpAlone]) expect(answer).toEqual({ code: 0, stdout: listed, stderr: '' });
    for (const c of COMMANDS) expect(list.stdout).toContain(c.words.join(' '));
    expect(connections).toBe(0);
  });

  it('prints the version from package.json', async () => {
    const answers = await Promise.all(['--version', '-V', 'version'].map((arg) => runCli([arg], { ...env, PORT: 'x' })));
    for (const answer of answers) expect(answer).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('answers no command, an unknown one and a wrong one with the usage on standard error and 64', async () => {
    const [none, unknown, group, wrong] = await Promise.all([runCli([], env), runCli(['frobnicate'], env), runCli(['staff', 'frobnicate'], env), runCli(['help', 'frobnicate'], env)]);
    const listed = commandList(COMMANDS, pkg.description);
    expect(none).toEqual({ code: 64, stdout: '', stderr: `case-intake needs a command\n\n${listed}\n` });
    expect(unknown).toEqual({ code: 64, stdout: '', stderr: `unknown command "frobnicate"\n\n${listed}\n` });
    expect(group).toMatchObject({ code: 64, stdout: '' });
    expect(group.stderr).toMatch(/^unknown staff command "frobnicate"\n\nusage: case-intake staff add EMAIL\n/);
    expect(wrong).toMatchObject({ code: 64, stdout: '', stderr: expect.stringMatching(/^no command "frobnicate"/) });
    expect(connections).toBe(0);
  });
});

describe('a DATABASE_URL naming a database that does not exist', () => {
  const name = uniqueName('ci_missing');
  const url = new URL(TEST_PG);
  url.pathname = `/${name}`;
  const env = { DATABASE_URL: url.toString(), REDIS_URL: TEST_REDIS, QUEUE_PREFIX: uniqueName('ci'), IMAP_URL: '', LOG_LEVEL: 'silent' };
  afterAll(async () => {
    const admin = new Client({ connectionString: TEST_PG });
    await admin.connect();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  it('gets one line saying what to run to create it: 69, and 75 for ingest; the command it names works', async () => {
    // One command of each way in: migrate, a command that migrates first, one that does not, ingest, start.
    const [migrate, staff, quarantine, ingest, start] = await Promise.all([
      runCli(['migrate'], env),
      runCli(['staff', 'list'], env),
      runCli(['quarantine', 'list'], env),
      runCli(['ingest'], env, 'From: a@customer.example\r\nSubject: hello\r\n\r\nhello\r\n'),
      runCli(['start'], env, undefined, 20_000),
    ]);
    const hint = `the database "${name}" does not exist on ${url.host}: create it with \`createdb -h ${url.hostname} -U postgres ${name} && case-intake migrate\`\n`;
    expect(migrate).toEqual({ code: 69, stdout: '', stderr: hint });
    expect(staff).toEqual({ code: 69, stdout: '', stderr: hint });
    expect(quarantine).toEqual({ code: 69, stdout: '', stderr: hint });
    expect(ingest).toEqual({ code: 75, stdout: '', stderr: hint });
    expect(start).toMatchObject({ code: 69, stderr: hint });

    const createdb = /`(createdb [^`&]+) && case-intake migrate`/.exec(hint)![1]!;
    await promisify(execFile)('sh', ['-c', createdb]);
    expect(await runCli(['migrate'], env)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^applied /) });
  });
});
