import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { sql } from 'kysely';
import { startService, type RunningService } from '../../src/app';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { NO_DIRECTORY_EFFECTS } from '../../src/directory/changes';
import { startDovecot, type DovecotServer } from '../support/dovecot';
import { createTestApp, eventually, type TestApp } from '../support/env';
import { makeMessage } from '../support/messages';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';

const BURST = 600;
const FETCH = 50;
const MEMBERS = ['bob@acme.test', 'alice@acme.test'];

/**
 * A burst waiting in the mailbox when the watcher starts: outbound mail steps aside until the
 * watcher is within one fetch of the end (SEND_YIELD_SECONDS), then all of it goes out.
 */
describe('a burst: mail waits while the watcher is behind', () => {
  let dovecot: DovecotServer;
  let sink: SmtpSink;
  let app: TestApp;
  let service: RunningService | undefined;

  beforeAll(async () => {
    [dovecot, sink] = await Promise.all([startDovecot(), startSmtpSink()]);
    app = await createTestApp({
      IMAP_URL: dovecot.url,
      SMTP_URL: sink.url,
      // Each member writes many of the burst's messages: their cases open and are acknowledged.
      SENDER_CASE_LIMIT: '100000',
      AUTO_REPLY_PER_SENDER_PER_HOUR: '100000',
    });
    await importDirectory(app.ctx.db, parseDirectoryFile(JSON.parse(await readFile(join(__dirname, '../../fixtures/directory.json'), 'utf8'))), { replace: false, effects: NO_DIRECTORY_EFFECTS });
    const client = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false });
    await client.connect();
    for (let i = 0; i < BURST; i++) {
      await client.append('INBOX', makeMessage({ from: MEMBERS[i % MEMBERS.length]!, subject: `Outage report ${i}`, id: `burst-${i}` }));
    }
    await client.logout();
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    await app?.close();
    await sink?.stop();
    await dovecot?.stop();
  });

  it('sends nothing until the last fetch, and everything after', async () => {
    service = await startService(app.ctx);
    // What operators see meanwhile: the backlog's gauge, sampled until the first mail goes out.
    const running = service;
    let gaugeMax = 0;
    await eventually(async () => {
      const text = await running.metrics.registry.getSingleMetricAsString('case_intake_intake_backlog_messages');
      gaugeMax = Math.max(gaugeMax, Number(/^case_intake_intake_backlog_messages (\d+)/m.exec(text)?.[1] ?? 0));
      return sink.messages.length > 0;
    }, 120_000, 'the first mail');
    expect(gaugeMax).toBeGreaterThan(FETCH);
    const outboxCounts = () =>
      app.ctx.db.selectFrom('outbox').select((eb) => [eb.fn.countAll<string>().as('n'), eb.fn.count<string>('sent_at').as('sent')]).executeTakeFirstOrThrow();
    const outbox = await eventually(async () => {
      const c = await outboxCounts();
      return Number(c.n) >= BURST && c.sent === c.n && c;
    }, 120_000, 'every message acknowledged, and all mail sent');

    // The watcher reports how much is left before each fetch: mail may go once the last fetch
    // began, that is after the one before it was stored.
    const times = await sql<{ before_last_fetch: Date; first_sent: Date; written_before: string }>`
      select (select max(received_at) from raw_messages where uid <= ${BURST - FETCH}) as before_last_fetch,
             (select min(sent_at) from outbox) as first_sent,
             (select count(*) from outbox where created_at < (select max(received_at) from raw_messages where uid <= ${BURST - FETCH})) as written_before`.execute(app.ctx.db);
    const { before_last_fetch, first_sent, written_before } = times.rows[0]!;
    // Mail was written during the burst (the early fetches' cases were decided) ...
    expect(Number(written_before)).toBeGreaterThan(FETCH);
    // ... and none of it went out while more than a fetch was still waiting.
    expect(new Date(first_sent).getTime()).toBeGreaterThanOrEqual(new Date(before_last_fetch).getTime());

    // The sink records a message just after it answered the dot, so the last ones may trail sent_at.
    await eventually(async () => sink.messages.length >= Number(outbox.n), 10_000, 'the sink to record every mail sent');
    expect(sink.messages).toHaveLength(Number(outbox.n));
  }, 180_000);
});
