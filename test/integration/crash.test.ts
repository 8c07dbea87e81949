import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { BIN, ROOT } from '../support/cli';
import { appendMessage, startDovecot, type DovecotServer } from '../support/dovecot';
import { createTestApp, eventually, type TestApp } from '../support/env';
import { makeMessage } from '../support/messages';

const SENDERS = ['bob@acme.test', 'carol@acme.test', 'mallory@acme.test', 'zed@nowhere.test', 'dave@acme.test'];
const TOTAL = 120;

describe('kill -9 at any moment, then start again: every message becomes exactly one case', () => {
  let app: TestApp;
  let dovecot: DovecotServer;
  let env: NodeJS.ProcessEnv;
  const children = new Set<ChildProcess>();

  const startProcess = () => {
    const child = spawn(process.execPath, [BIN, 'start'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
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
    await importDirectory(app.ctx.db, directory, { replace: false });
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
    for (const child of children) child.kill('SIGKILL');
    await dovecot.stop();
    await app.close();
  });

  it('survives repeated SIGKILLs during intake without losing or doubling a message', async () => {
    let appended = 0;
    const appending = (async () => {
      for (; appended < TOTAL; appended++) {
        await appendMessage(dovecot, makeMessage({ from: SENDERS[appended % SENDERS.length]!, subject: `crash test ${appended}`, id: `crash-${appended}` }));
        if (appended % 10 === 0) await new Promise((r) => setTimeout(r, 50));
      }
    })();

    // Kill the service at uneven moments while mail keeps arriving.
    const storedAtKill: number[] = [];
    for (const delay of [700, 350, 900, 150, 600, 1100, 250]) {
      const child = startProcess();
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await exited(child);
      storedAtKill.push((await app.ctx.db.selectFrom('raw_messages').select('id').execute()).length);
    }
    await appending;
    // The killed processes really were taking mail in when they died (else this test proves nothing).
    expect(storedAtKill.filter((n, i) => n > (storedAtKill[i - 1] ?? 0)).length).toBeGreaterThanOrEqual(2);

    const survivor = startProcess();
    const counts = await eventually(async () => {
      const rows = await app.ctx.db.selectFrom('cases').select(['status']).execute();
      return rows.length === TOTAL && rows.every((r) => r.status !== 'new') ? rows : undefined;
    }, 60000, `all ${TOTAL} cases decided`);
    expect(counts).toHaveLength(TOTAL);

    const raws = await app.ctx.db.selectFrom('raw_messages').select(['message_id', 'status']).execute();
    expect(raws).toHaveLength(TOTAL);
    expect(raws.every((r) => r.status === 'case')).toBe(true);
    const subjects = await app.ctx.db.selectFrom('cases').select('subject').execute();
    expect(new Set(subjects.map((s) => s.subject)).size).toBe(TOTAL);
    const decisions = await app.ctx.db.selectFrom('case_events').select('case_id').where('kind', '=', 'decided').execute();
    expect(decisions).toHaveLength(TOTAL);

    // SIGTERM shuts down cleanly.
    survivor.kill('SIGTERM');
    expect(await exited(survivor)).toBe(0);
  }, 120000);
});
