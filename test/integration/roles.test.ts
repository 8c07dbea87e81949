import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import pino from 'pino';
import { startService, type RunningService } from '../../src/app';
import type { Role } from '../../src/roles';
import { closeContext, createContext, type AppContext } from '../../src/context';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { NO_DIRECTORY_EFFECTS } from '../../src/directory/changes';
import { startDovecot, type DovecotServer } from '../support/dovecot';
import { createTestApp, eventually, type TestApp } from '../support/env';
import { makeMessage } from '../support/messages';
import { freePort } from '../support/smtp-sink';

interface Ready {
  mailbox: { state: string };
  mailboxes: Array<{ state: string; mode: string | null }>;
}

/** Split roles in one test: watcher, worker and web as separate services sharing PostgreSQL and Redis. */
describe('start --role: watcher, worker and web apart, two mailboxes at once', () => {
  let dovecot: DovecotServer;
  let app: TestApp;
  const extra: AppContext[] = [];
  const running: RunningService[] = [];
  let base = '';

  const imap = () => new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false });
  const append = async (folder: string, raw: Buffer) => {
    const client = imap();
    await client.connect();
    await client.append(folder, raw);
    await client.logout();
  };
  const start = async (roles: Role[]) => {
    const ctx = await createContext(app.ctx.config, pino({ level: 'silent' }));
    extra.push(ctx);
    const service = await startService(ctx, new Set(roles));
    running.push(service);
    return service;
  };

  beforeAll(async () => {
    dovecot = await startDovecot();
    const client = imap();
    await client.connect();
    await client.mailboxCreate('Second');
    await client.logout();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = await createTestApp({ IMAP_URL: `${dovecot.url}, ${dovecot.url.replace(/\/INBOX$/, '/Second')}`, PORT: String(port), PUBLIC_URL: base, SMTP_URL: 'smtp://127.0.0.1:1' });
    const directory = parseDirectoryFile(JSON.parse(await readFile(join(__dirname, '../../fixtures/directory.json'), 'utf8')));
    await importDirectory(app.ctx.db, directory, { replace: false, effects: NO_DIRECTORY_EFFECTS });
  });
  afterAll(async () => {
    for (const s of running.reverse()) await s.stop();
    for (const ctx of extra) await closeContext(ctx);
    await app?.close();
    await dovecot?.stop();
  });

  it('takes in both mailboxes with a watcher-only process, decides with a worker-only one, and reports from a web-only one', async () => {
    const web = await start(['web']);
    expect(web.address).toBe(base);
    // No watcher anywhere yet: the web process says so, and is not ready.
    const before = await fetch(`${base}/readyz`);
    expect(before.status).toBe(503);
    expect(((await before.json()) as Ready).mailboxes.map((m) => m.state)).toEqual(['unwatched', 'unwatched']);

    const watcher = await start(['watcher']);
    expect(watcher.address).toBeNull();
    await start(['worker']);
    await append('INBOX', makeMessage({ from: 'bob@acme.test', subject: 'In the first mailbox', id: 'role-1' }));
    await append('Second', makeMessage({ from: 'bob@acme.test', subject: 'In the second mailbox', id: 'role-2' }));
    await eventually(async () => {
      const cases = await app.ctx.db.selectFrom('cases').select(['subject', 'status']).orderBy('subject').execute();
      return cases.length === 2 && cases.every((c) => c.status === 'open') ? cases : undefined;
    }, 20000, 'two open cases');
    const raws = await app.ctx.db.selectFrom('raw_messages').select('mailbox').orderBy('mailbox').execute();
    expect(raws.map((r) => r.mailbox!.replace(/^.*\//, ''))).toEqual(['INBOX', 'Second']);

    const ready = await eventually(async () => {
      const res = await fetch(`${base}/readyz`);
      return res.status === 200 ? ((await res.json()) as Ready) : undefined;
    }, 15000, 'the web process to see both watchers connected');
    expect(ready.mailboxes.map((m) => [m.state, m.mode])).toEqual([['connected', 'idle'], ['connected', 'idle']]);

    // The watcher process stops: the web process notices at once and is no longer ready.
    await watcher.stop();
    running.splice(running.indexOf(watcher), 1);
    const after = await fetch(`${base}/readyz`);
    expect(after.status).toBe(503);
    expect(((await after.json()) as Ready).mailbox.state).toBe('stopped');
  });
});
