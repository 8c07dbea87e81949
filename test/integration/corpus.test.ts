import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { takeIn } from '../../src/intake/ingest';
import { createTestApp, type TestApp } from '../support/env';

// ../shared/corpus: 700+ real messages from other mail systems (see its README and licences).
const CORPUS = join(__dirname, '../../../shared/corpus');

async function emlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await emlFiles(path)));
    else if (entry.name.endsWith('.eml')) out.push(path);
  }
  return out.sort();
}

const corpusPresent = stat(CORPUS).then(() => true, () => false);

describe('the shared corpus of real-world mail', () => {
  let app: TestApp;
  beforeAll(async () => {
    if (!(await corpusPresent)) throw new Error(`the shared corpus is missing at ${CORPUS}: clone the project with ../shared beside it`);
    app = await createTestApp();
  });
  afterAll(() => app?.close());

  it('takes every message in without a crash: each is a case or kept raw in quarantine, never dropped', async () => {
    const files = await emlFiles(CORPUS);
    expect(files.length).toBeGreaterThan(700);
    const outcomes: Record<string, number> = {};
    const failures: string[] = [];
    for (const file of files) {
      const raw = await readFile(file);
      try {
        const result = await takeIn(app.ctx.intake, raw, { source: 'pipe' });
        outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
        if (result.outcome === 'stored') failures.push(`${relative(CORPUS, file)}: stored but not processed`);
      } catch (err) {
        failures.push(`${relative(CORPUS, file)}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    expect(failures).toEqual([]);
    // Every message is in raw_messages (a second delivery shares its row with the first copy):
    // a case, a reply added to one (some corpus messages answer others), or quarantined.
    const raw = await app.ctx.db.selectFrom('raw_messages').select(['status']).execute();
    expect(raw.length).toBe((outcomes.case ?? 0) + (outcomes.reply ?? 0) + (outcomes.quarantined ?? 0));
    expect(raw.every((r) => r.status === 'case' || r.status === 'quarantined')).toBe(true);
    expect(outcomes.case).toBeGreaterThan(600);
  }, 120000);
});
