import pg from 'pg';
import { fileRawMessage, fileBatch, type BatchItem } from '../../src/intake/ingest';
import { createTestApp, type TestApp } from '../support/env';

function mail(id: string, headers: Record<string, string> = {}, from = 'bob@acme.test', to = 'support@support.example.com'): Buffer {
  const lines = [`From: Bob <${from}>`, `To: ${to}`, `Subject: trips ${id}`, `Message-ID: <${id}@trips.test>`, 'Date: Mon, 23 Nov 2026 09:00:00 +0000'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\nBody of ${id}\r\n`);
}

// Installed before any connection opens: each pooled client binds `query` when it connects.
const original = pg.Client.prototype.query;
let counted: number | null = null;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  if (counted !== null) counted++;
  return (original as (...a: unknown[]) => unknown).apply(this, args);
} as typeof original;

/** Statements sent to PostgreSQL (BEGIN and COMMIT included) while `work` runs. */
async function countStatements(work: () => Promise<unknown>): Promise<number> {
  counted = 0;
  try {
    await work();
    return counted;
  } finally {
    counted = null;
  }
}

/**
 * The watcher's batch is intake's hot path: a fetch costs a few statements, not a few per message.
 * The ceilings are what a fetch cost when last measured; a per-message query added to it fails here.
 */
describe('round trips of a fetch', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    await app.close();
    pg.Client.prototype.query = original;
  });

  it('stores fifty mixed messages in few statements', async () => {
    const root = await fileRawMessage(app.ctx.intake, mail('root'), { source: 'pipe' });
    if (root.outcome !== 'case') throw new Error(root.outcome);
    const raws: Buffer[] = [];
    for (let i = 0; i < 36; i++) raws.push(mail(`new-${i}`, i % 6 === 0 ? { Cc: `carol${i}@acme.test` } : {}));
    for (let i = 0; i < 4; i++) raws.push(mail(`ooo-${i}`, { 'Auto-Submitted': 'auto-replied' }, 'robot@acme.test'));
    for (let i = 0; i < 4; i++) raws.push(mail(`reply-${i}`, { 'In-Reply-To': '<root@trips.test>' }));
    raws.push(Buffer.from(mail('tagged').toString().replace('Subject: trips tagged', `Subject: Re: [${root.reference}] more`)));
    for (let i = 0; i < 2; i++) raws.push(mail(`unknown-thread-${i}`, { 'In-Reply-To': `<nowhere-${i}@elsewhere.test>` }));
    raws.push(mail('approval', {}, 'bob@acme.test', 'support+approve-notatoken@support.example.com'));
    raws.push(Buffer.from('Subject: no sender\r\nMessage-ID: <nosender-1@trips.test>\r\n\r\nbody\r\n'));
    raws.push(Buffer.from('Subject: no sender\r\nMessage-ID: <nosender-2@trips.test>\r\n\r\nbody two\r\n'));
    expect(raws).toHaveLength(50);
    const items: BatchItem[] = raws.map((raw, i) => ({ raw, origin: { source: 'imap', mailbox: 'trips', uidvalidity: '1', uid: i + 1 } }));

    let outcome: Awaited<ReturnType<typeof fileBatch>> | undefined;
    const statements = await countStatements(async () => (outcome = await fileBatch(app.ctx.intake, items)));
    expect(outcome!.error).toBeNull();
    const counts: Record<string, number> = {};
    for (const r of outcome!.results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    expect(counts).toEqual({ case: 38, kept: 5, reply: 5, quarantined: 2 });
    console.log(`a fetch of 50 mixed messages: ${statements} statements`);
    // Per message: a keep or a quarantine for automatic and unreadable mail, a transaction for a
    // reply; threads looked up together, new cases stored together.
    expect(statements).toBeLessThanOrEqual(61);
  });

  it('stores fifty new cases in a handful of statements', async () => {
    const items: BatchItem[] = Array.from({ length: 50 }, (_, i) => ({ raw: mail(`plain-${i}`), origin: { source: 'imap', mailbox: 'trips', uidvalidity: '1', uid: 100 + i } }));
    let outcome: Awaited<ReturnType<typeof fileBatch>> | undefined;
    const statements = await countStatements(async () => (outcome = await fileBatch(app.ctx.intake, items)));
    expect(outcome!.results.every((r) => r.outcome === 'case')).toBe(true);
    console.log(`a fetch of 50 new cases: ${statements} statements`);
    // The raw copies' transaction, the cases' transaction: none per message.
    expect(statements).toBeLessThanOrEqual(10);
  });
});
