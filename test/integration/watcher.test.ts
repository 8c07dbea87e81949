import { ImapFlow } from 'imapflow';
import { loadCheckpoint } from '../../src/intake/checkpoints';
import { MailboxWatcher } from '../../src/intake/watcher';
import { appendMessage, startDovecot, type DovecotServer } from '../support/dovecot';
import { createTestApp, eventually, testConfig, type TestApp } from '../support/env';
import { makeMessage } from '../support/messages';

async function flagsByUid(server: DovecotServer): Promise<Map<number, Set<string>>> {
  const client = new ImapFlow({ host: server.host, port: server.port, secure: false, auth: { user: server.user, pass: server.password }, logger: false });
  await client.connect();
  await client.mailboxOpen('INBOX');
  const flags = new Map<number, Set<string>>();
  for (const m of await client.fetchAll('1:*', { uid: true, flags: true })) flags.set(m.uid, m.flags ?? new Set());
  await client.logout();
  return flags;
}

describe('MailboxWatcher against a real Dovecot', () => {
  let app: TestApp;
  let dovecot: DovecotServer;
  const watchers: MailboxWatcher[] = [];

  const newWatcher = () => {
    const cfg = testConfig(app.database.url, { IMAP_URL: dovecot.url });
    const w = new MailboxWatcher(app.ctx.intake, { target: cfg.imap!, databaseUrl: app.database.url, pollMs: 60_000, processedFolder: null, leaseCheckMs: 200 });
    watchers.push(w);
    return w;
  };
  const caseCount = async () => Number((await app.ctx.db.selectFrom('cases').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    app = await createTestApp();
    dovecot = await startDovecot();
  });
  afterAll(async () => {
    await Promise.all(watchers.map((w) => w.stop()));
    await dovecot.stop();
    await app.close();
  });

  it('takes in what is already there, then flags it \\Seen and advances the checkpoint', async () => {
    for (let i = 0; i < 3; i++) await appendMessage(dovecot, makeMessage({ from: 'bob@acme.test', subject: `backlog ${i}`, id: `backlog-${i}` }));
    const watcher = newWatcher();
    watcher.start();
    await eventually(async () => (await caseCount()) === 3, 15000, 'three cases');
    const cfg = testConfig(app.database.url, { IMAP_URL: dovecot.url });
    const checkpoint = await eventually(async () => {
      const cp = await loadCheckpoint(app.ctx.db, cfg.imap!.id);
      return cp && cp.lastUid === 3 ? cp : undefined;
    });
    expect(checkpoint.lastUid).toBe(3);
    const flags = await flagsByUid(dovecot);
    expect([...flags.values()].every((f) => f.has('\\Seen'))).toBe(true);
    const raws = await app.ctx.db.selectFrom('raw_messages').select(['uid', 'source', 'uidvalidity']).orderBy('uid').execute();
    expect(raws.map((r) => [Number(r.uid), r.source])).toEqual([[1, 'imap'], [2, 'imap'], [3, 'imap']]);
    expect(watcher.status()).toMatchObject({ state: 'connected', mode: 'idle' });
  });

  it('notices new mail through IDLE, long before the next poll', async () => {
    await appendMessage(dovecot, makeMessage({ from: 'carol@acme.test', subject: 'while idling', id: 'idle-1' }));
    // The poll interval is a minute: only IDLE can deliver this within the wait.
    await eventually(async () => (await caseCount()) === 4, 10000, 'the IDLE notification');
  });

  it('lets exactly one of two watchers hold the mailbox, and the standby takes over when the first stops', async () => {
    const standby = newWatcher();
    standby.start();
    await eventually(async () => standby.status().state === 'standby', 5000, 'standby');
    await watchers[0]!.stop();
    await eventually(async () => standby.status().state === 'connected', 10000, 'takeover');
    await appendMessage(dovecot, makeMessage({ from: 'erin@mail.test', subject: 'after takeover', id: 'takeover-1' }));
    await eventually(async () => (await caseCount()) === 5, 10000, 'case after takeover');
  });

  it('stops promptly when asked while it is still connecting', async () => {
    // Regression: a stop that arrived before the session started waited for an abort event
    // that had already fired, and SIGTERM hung the process.
    for (const delay of [0, 5, 20, 60]) {
      const w = newWatcher();
      w.start();
      await new Promise((r) => setTimeout(r, delay));
      const outcome = await Promise.race([w.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('hung'), 5000))]);
      expect(outcome).toBe('stopped');
    }
  });

  it('reconnects after the IMAP server restarts, and misses nothing appended meanwhile', async () => {
    const active = watchers[1]!;
    const before = active.status().reconnects;
    await dovecot.restart();
    await appendMessage(dovecot, makeMessage({ from: 'bob@acme.test', subject: 'after restart', id: 'restart-1' }));
    await eventually(async () => (await caseCount()) === 6, 20000, 'case after the server restart');
    expect(active.status().reconnects).toBeGreaterThan(before);
    const subjects = (await app.ctx.db.selectFrom('cases').select('subject').execute()).map((c) => c.subject);
    expect(new Set(subjects).size).toBe(6);
  });
});
