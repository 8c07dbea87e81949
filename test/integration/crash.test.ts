import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { NO_DIRECTORY_EFFECTS } from '../../src/directory/changes';
import { BIN, ROOT } from '../support/cli';
import { appendMessage, startDovecot, type DovecotServer } from '../support/dovecot';
import { createTestApp, eventually, within, type TestApp } from '../support/env';
import { makeMessage } from '../support/messages';

const SENDERS = ['bob@acme.test', 'carol@acme.test', 'mallory@acme.test', 'zed@nowhere.test', 'dave@acme.test'];
const TOTAL = 120;

describe('kill -9 at any moment, then start again: every message becomes exactly one case', () => {
  let app: TestApp;
  let dovecot: DovecotServer;
  let env: NodeJS.ProcessEnv;
  const children = new Set<ChildProcess>();

  const startProcess = (extraEnv: NodeJS.ProcessEnv = {}) => {
    const child = spawn(process.execPath, [BIN, 'start'], { cwd: ROOT, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.resume();
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  const exited = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => (child.exitCode !== null || child.signalCode ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

  beforeAll(async () => {
    app = await createTestApp();
    dovecot = await startDovecot();
    const directory = parseDirectoryFile(JSON.parse(await readFile(join(ROOT, 'fixtures/directory.json'), 'utf8')));
    await importDirectory(app.ctx.db, directory, { replace: false, effects: NO_DIRECTORY_EFFECTS });
    env = {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      DATABASE_URL: app.database.url,
      REDIS_URL: app.ctx.config.redisUrl,
      QUEUE_PREFIX: app.ctx.config.queuePrefix,
      IMAP_URL: dovecot.url,
      IMAP_POLL_SECONDS: '1',
      PORT: '0',
      LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    const left = [...children];
    for (const child of left) child.kill('SIGKILL');
    await Promise.all(left.map((child) => within(exited(child), 5000, () => null)));
    await dovecot.stop();
    await app.close();
  });

  it('survives repeated SIGKILLs during intake without losing or doubling a message', async () => {
    let appended = 0;
    const appending = (async () => {
      for (; appended < TOTAL; appended++) {
        await appendMessage(dovecot, makeMessage({ from: SENDERS[appended % SENDERS.length]!, subject: `crash test ${appended}`, id: `crash-${appended}` }));
        await new Promise((r) => setTimeout(r, 60)); // paced so mail keeps arriving across the kills
      }
    })();

    // Kill the service at uneven moments while mail keeps arriving.
    const storedAtKill: number[] = [];
    // Each kill comes a little after the process took the mailbox's lease (it says so in
    // mailbox_watchers), so it lands during or after its first sync however slowly it started.
    const holds = async (pid: number | undefined) =>
      (await app.ctx.db.selectFrom('mailbox_watchers').select('holder').where('holder', 'like', `%:${pid}`).executeTakeFirst()) !== undefined;
    for (const delay of [300, 0, 800, 150, 1200, 500, 1600]) {
      const child = startProcess();
      await eventually(async () => (await holds(child.pid)) || undefined, 20000, 'the new process to take the mailbox');
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      if ((await within(exited(child), 10000, () => 'hung' as const)) === 'hung') throw new Error('a killed process did not exit');
      storedAtKill.push((await app.ctx.db.selectFrom('raw_messages').select('id').execute()).length);
    }
    if ((await within(appending.then(() => 'done' as const), 30000, () => 'stalled' as const)) === 'stalled') throw new Error(`appending stalled at ${appended}/${TOTAL}`);
    // The killed processes really were taking mail in when they died (else this test proves nothing).
    expect(storedAtKill.filter((n, i) => n > (storedAtKill[i - 1] ?? 0)).length).toBeGreaterThanOrEqual(2);

    const survivor = startProcess({ LOG_LEVEL: 'info' });
    let survivorLog = '';
    survivor.stdout?.on('data', (d: Buffer) => (survivorLog += d.toString()));
    survivor.stderr?.on('data', (d: Buffer) => (survivorLog += d.toString()));
    const counts = await eventually(async () => {
      const rows = await app.ctx.db.selectFrom('cases').select(['status']).execute();
      return rows.length === TOTAL && rows.every((r) => r.status !== 'new') ? rows : undefined;
    }, 30000, `all ${TOTAL} cases decided`).catch(async (err: Error) => {
      const raws = await app.ctx.db.selectFrom('raw_messages').select(['status']).execute();
      const cases = await app.ctx.db.selectFrom('cases').select(['status']).execute();
      const mailbox = await app.ctx.db.selectFrom('mailbox_state').selectAll().execute();
      throw new Error(`${err.message}: ${raws.length} raw (${raws.filter((r) => r.status !== 'case').length} not a case), ${cases.length} cases (${cases.filter((c) => c.status === 'new').length} new), checkpoint ${JSON.stringify(mailbox)}\n${survivorLog.slice(-3000)}`);
    });
    expect(counts).toHaveLength(TOTAL);

    const raws = await app.ctx.db.selectFrom('raw_messages').select(['message_id', 'status']).execute();
    expect(raws).toHaveLength(TOTAL);
    expect(raws.every((r) => r.status === 'case')).toBe(true);
    const subjects = await app.ctx.db.selectFrom('cases').select('subject').execute();
    expect(new Set(subjects.map((s) => s.subject)).size).toBe(TOTAL);
    const decisions = await app.ctx.db.selectFrom('case_events').select('case_id').where('kind', '=', 'decided').execute();
    expect(decisions).toHaveLength(TOTAL);

    // SIGTERM shuts down cleanly (once the process is up: before that, Node's default handler applies).
    await eventually(async () => survivorLog.includes('case-intake started'), 10000, 'the survivor to be up');
    survivor.kill('SIGTERM');
    const code = await within(exited(survivor), 15000, () => 'hung' as const);
    if (code === 'hung') throw new Error(`survivor did not stop:\n${survivorLog.slice(-4000)}`);
    expect(code).toBe(0);
  }, 120000);
});
