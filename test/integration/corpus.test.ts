import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileRawMessage } from '../../src/intake/ingest';
import { createTestApp, type TestApp } from '../support/env';
import { SHARED_DIR } from '../support/shared';

// ../shared/corpus: 700+ real messages from other mail systems (see its README and licences).
const CORPUS = join(SHARED_DIR, 'corpus');

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
    const byFamily: Record<string, Record<string, number>> = {};
    const failures: string[] = [];
    const automaticCases: string[] = [];
    for (const file of files) {
      const raw = await readFile(file);
      const name = relative(CORPUS, file);
      const family = name.startsWith('bounces-and-autoreplies/') ? (/\/(is-not-bounce|[a-z]+\d*)/.exec(name)?.[1] ?? 'other') : name.split('/').slice(0, 2).join('/');
      try {
        const result = await fileRawMessage(app.ctx.intake, raw, { source: 'pipe' });
        const label = result.outcome === 'kept' ? `kept:${result.kind}` : result.outcome;
        outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
        (byFamily[family] ??= {})[label] = (byFamily[family]![label] ?? 0) + 1;
        if (result.outcome === 'stored') failures.push(`${name}: stored but not processed`);
        // Automatic mail must never become a case (one documented exception: a person forwarding a bounce).
        if (/^bounces-and-autoreplies\/(lhost|rhost|rfc3464|arf|rfc3834)-/.test(name) && name !== 'bounces-and-autoreplies/lhost-sendmail-14.eml' && (result.outcome === 'case' || result.outcome === 'reply')) {
          automaticCases.push(name);
        }
      } catch (err) {
        failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(automaticCases).toEqual([]);
    // The outcome per folder, for the issue notes.
    console.log(Object.entries(byFamily).map(([f, o]) => `${f}: ${JSON.stringify(o)}`).join('\n'));
    // Every message is in raw_messages (a second delivery shares its row with the first copy):
    // a case, a reply added to one (some corpus messages answer others), kept, or quarantined.
    const raw = await app.ctx.db.selectFrom('raw_messages').select(['status']).execute();
    expect(raw.length).toBe((outcomes.case ?? 0) + (outcomes.reply ?? 0) + (outcomes.quarantined ?? 0) + (outcomes.kept ?? 0));
    expect(raw.every((r) => ['case', 'quarantined', 'kept'].includes(r.status))).toBe(true);
    // Mail from people (the is-not-bounce traps and the MIME edge cases) becomes cases.
    expect(byFamily['is-not-bounce']).toEqual({ case: 2 });
    // 81 when this was written: the MIME edge cases, less the few that are reports or list mail.
    expect(outcomes.case).toBeGreaterThanOrEqual(80);
  }, 120000);
});
