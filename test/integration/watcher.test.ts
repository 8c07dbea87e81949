import { ImapFlow } from 'imapflow';
import { sql } from 'kysely';
import { sha256 } from '../../src/intake/headers';
import { fileRawMessage } from '../../src/intake/ingest';
import { loadCheckpoint } from '../../src/intake/checkpoints';
import { MailboxWatcher } from '../../src/intake/watcher';
import { appendMessage, startDovecot, type DovecotServer } from '../support/dovecot';
import { createTestApp, eventually, testConfig, within, type TestApp } from '../support/env';
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
    const w = new MailboxWatcher(app.ctx.intake, { target: cfg.mailboxes[0]!, databaseUrl: app.database.url, pollMs: 60_000, processedFolder: null, leaseCheckMs: 200 });
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
      const cp = await loadCheckpoint(app.ctx.db, cfg.mailboxes[0]!.id);
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
      const outcome = await within(w.stop().then(() => 'stopped'), 5000, () => 'hung');
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

describe('a message over MAX_MESSAGE_BYTES through the real mailbox', () => {
  let app: TestApp;
  let dovecot: DovecotServer;
  let watcher: MailboxWatcher;
  beforeAll(async () => {
    app = await createTestApp({ MAX_MESSAGE_BYTES: '65536' });
    dovecot = await startDovecot();
  });
  afterAll(async () => {
    await watcher?.stop();
    await dovecot.stop();
    await app.close();
  });

  it('is streamed into storage whole, its case made from the headers, and flagged like any other', async () => {
    const big = makeMessage({ from: 'bob@acme.test', subject: 'A 3 MB log', id: 'streamed-1', body: `${'0123456789abcdef'.repeat(64)}\r\n`.repeat(3000) });
    const small = makeMessage({ from: 'bob@acme.test', subject: 'small after big', id: 'streamed-2' });
    await appendMessage(dovecot, big);
    await appendMessage(dovecot, small);
    const cfg = testConfig(app.database.url, { IMAP_URL: dovecot.url });
    watcher = new MailboxWatcher(app.ctx.intake, { target: cfg.mailboxes[0]!, databaseUrl: app.database.url, pollMs: 60_000, processedFolder: null, maxMessageBytes: 65536 });
    watcher.start();
    const cases = await eventually(async () => {
      const rows = await app.ctx.db.selectFrom('cases').select(['subject', 'intake_hold']).orderBy('id').execute();
      return rows.length === 2 ? rows : undefined;
    });
    expect(cases).toEqual([
      { subject: 'A 3 MB log', intake_hold: 'too_large' },
      { subject: 'small after big', intake_hold: null },
    ]);
    const row = await app.ctx.db.selectFrom('raw_messages').select(['raw', 'raw_oid', 'size', 'sha256']).where('message_id', '=', 'streamed-1@tests.case-intake.test').executeTakeFirstOrThrow();
    expect(row.size).toBe(big.length);
    expect(row.raw.length).toBeLessThanOrEqual(256 * 1024);
    expect(row.raw_oid).not.toBeNull();
    const whole = await sql<{ data: Buffer }>`select lo_get(${row.raw_oid}::oid) as data`.execute(app.ctx.db);
    expect(whole.rows[0]!.data.equals(big)).toBe(true);
    expect(row.sha256).toBe(sha256(big));
    // A second delivery of the same large message is recognised as one, streamed or not.
    expect(await fileRawMessage(app.ctx.intake, big, { source: 'pipe' })).toEqual({ outcome: 'duplicate' });
    const flags = await flagsByUid(dovecot);
    expect([...flags.values()].every((f) => f.has('\\Seen'))).toBe(true);
  });
});

describe('MailboxWatcher without IDLE (IMAP_IDLE=false)', () => {
  let app: TestApp;
  let dovecot: DovecotServer;
  let watcher: MailboxWatcher | null = null;
  beforeAll(async () => {
    app = await createTestApp();
    dovecot = await startDovecot();
  });
  afterAll(async () => {
    await watcher?.stop();
    await dovecot.stop();
    await app.close();
  });

  it('takes in new mail on its polls alone and says it is polling', async () => {
    const cfg = testConfig(app.database.url, { IMAP_URL: dovecot.url, IMAP_IDLE: 'false' });
    expect(cfg.imapIdle).toBe(false);
    watcher = new MailboxWatcher(app.ctx.intake, { target: cfg.mailboxes[0]!, databaseUrl: app.database.url, pollMs: 300, idle: cfg.imapIdle, processedFolder: null, leaseCheckMs: 200 });
    watcher.start();
    await eventually(async () => watcher!.status().state === 'connected');
    await appendMessage(dovecot, makeMessage({ from: 'bob@acme.test', subject: 'polled', id: 'polled-1' }));
    await eventually(async () => (await app.ctx.db.selectFrom('cases').select('id').where('subject', '=', 'polled').executeTakeFirst()) !== undefined, 15000, 'the polled case');
    expect(watcher.status()).toMatchObject({ state: 'connected', mode: 'polling' });
  });
});
