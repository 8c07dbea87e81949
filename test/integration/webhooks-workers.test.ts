import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { changeCase } from '../../src/cases/work';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { NO_DIRECTORY_EFFECTS } from '../../src/directory/changes';
import { eventsAfter } from '../../src/events/feed';
import { relayEvents } from '../../src/events/relay';
import { fileRawMessage } from '../../src/intake/ingest';
import { addEndpoint } from '../../src/webhooks/endpoints';
import { BIN, ROOT } from '../support/cli';
import { createTestApp, eventually, within, type TestApp } from '../support/env';
import { makeMessage } from '../support/messages';
import { arrivalsByCase, inOrder, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const CASES = 8;
const CHANGES = 6;

// Worker processes as deployed (`case-intake start --role worker`), one killed with SIGKILL while
// its delivery is in the receiver's hands, three more delivering together: nothing lost, the
// killed one's event at most twice with one webhook-id, each case's events in order.
describe('webhooks across worker processes', () => {
  let app: TestApp;
  let hooks: WebhookReceiver;
  const children = new Set<ChildProcess>();

  const startWorker = () => {
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      DATABASE_URL: app.database.url,
      REDIS_URL: app.ctx.config.redisUrl,
      QUEUE_PREFIX: app.ctx.config.queuePrefix,
      IMAP_URL: '',
      SMTP_URL: 'smtp://127.0.0.1:9',
      PORT: '0',
      LOG_LEVEL: 'warn',
      WEBHOOK_RETRY_FIRST: '0.2s',
      WEBHOOK_RETRY_MAX: '1s',
      WEBHOOK_CONCURRENCY: '4',
    };
    const child = spawn(process.execPath, [BIN, 'start', '--role', 'worker'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.resume();
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };
  const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode ? resolve() : child.once('exit', () => resolve())));

  beforeAll(async () => {
    app = await createTestApp();
    const directory = parseDirectoryFile(JSON.parse(await readFile(join(ROOT, 'fixtures/directory.json'), 'utf8')));
    await importDirectory(app.ctx.db, directory, { replace: false, effects: NO_DIRECTORY_EFFECTS });
    hooks = await startWebhookReceiver();
    const added = await addEndpoint(app.ctx.db, app.ctx.webhooks.box, { url: hooks.url, eventTypes: null });
    hooks.secret = added.secret;
  });
  afterAll(async () => {
    const left = [...children];
    for (const child of left) child.kill('SIGKILL');
    await Promise.all(left.map((child) => within(exited(child), 5000, () => null)));
    await hooks.stop();
    await app.close();
  });

  it('loses nothing when a worker dies mid-delivery, and keeps each case in order under several workers', async () => {
    let hung = 0;
    // Slow answers, and changes spread over several relay runs: a stream's next job is queued while
    // another worker still delivers it.
    hooks.answer = () => (hung++ === 0 ? 'hang' : { status: 200, delayMs: 30 + Math.floor(Math.random() * 120) });
    const first = startWorker();
    const refs: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const raw = makeMessage({ from: 'Bob Builder <bob@acme.test>', to: 'acme-prod@support.example.com', subject: `Worker case ${i}`, id: `ww-${i}-${Date.now()}` });
      const taken = await fileRawMessage(app.ctx.intake, raw, { source: 'pipe' });
      if (taken.outcome !== 'case') throw new Error(`expected a case, got ${taken.outcome}`);
      refs.push(taken.reference);
    }
    await eventually(async () => hooks.received.length >= 1, 30000, 'the first delivery, held by the receiver');
    const inFlight = hooks.received[0]!;
    first.kill('SIGKILL');
    await exited(first);
    // What the dead worker had sent: any of it may come again (answered, not yet recorded).
    const sentBeforeDeath = new Set(hooks.received.map((r) => r.event.id));
    const workers = [startWorker(), startWorker(), startWorker()];
    // Changes while they deliver: each case's status back and forth, cases interleaved.
    await eventually(async () => {
      const open = await app.ctx.db.selectFrom('cases').select('id').where('reference', 'in', refs).where('status', '=', 'open').execute();
      return open.length === CASES;
    }, 30000, 'every case open');
    for (let n = 0; n < CHANGES; n++) {
      await Promise.all(refs.map((ref) => changeCase(app.ctx.casework, ref, { status: n % 2 ? 'open' : 'pending' }, { email: 'sam@support.example.com', channel: 'dashboard' })));
      await new Promise((r) => setTimeout(r, 700));
    }
    await relayEvents(app.ctx.db);
    const published = (await eventsAfter(app.ctx.db, null, 10000)).filter((e) => refs.includes((e.data.case as { reference?: string } | undefined)?.reference ?? ''));
    expect(published.length).toBeGreaterThanOrEqual(CASES * (2 + CHANGES));
    await eventually(async () => {
      const got = new Set(hooks.received.filter((r) => r.answered !== 'none').map((r) => r.event.id));
      return published.every((e) => got.has(e.id));
    }, 60000, 'every event delivered');

    // The killed delivery came again, with its webhook-id; what the dead worker had in flight came
    // at most twice, and nothing sent after its death more than once.
    const again = hooks.received.filter((r) => r.headers['webhook-id'] === inFlight.headers['webhook-id']);
    expect(again.length).toBe(2);
    const byId = new Map<string, number>();
    for (const r of hooks.received) byId.set(r.headers['webhook-id']!, (byId.get(r.headers['webhook-id']!) ?? 0) + 1);
    expect([...byId].filter(([id, n]) => n > (sentBeforeDeath.has(id) ? 2 : 1))).toEqual([]);
    expect(hooks.received.every((r) => r.verified)).toBe(true);
    const arrivals = arrivalsByCase(hooks.received);
    for (const ref of refs) expect(inOrder(arrivals.get(ref)!)).toBe(true);
    const pending = await app.ctx.db.selectFrom('webhook_deliveries').select('id').where('status', '<>', 'delivered').execute();
    expect(pending).toEqual([]);
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map(exited));
  }, 120_000);
});
