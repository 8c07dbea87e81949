import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startService, type RunningService } from '../../src/app';
import { getCaseByReference } from '../../src/cases/api-view';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { NO_DIRECTORY_EFFECTS } from '../../src/directory/changes';
import { fileRawMessage } from '../../src/intake/ingest';
import { createTestApp, eventually, type TestApp } from './env';
import { makeMessage } from './messages';
import { freePort, startSmtpSink, type SmtpSink } from './smtp-sink';

export interface TestService {
  app: TestApp;
  service: RunningService;
  sink: SmtpSink;
  /** http://127.0.0.1:<port>, which is also PUBLIC_URL, so links in mail work as they are. */
  base: string;
  /** Takes a message in as the mailbox would; returns the case reference (or throws). */
  write(from: string, subject: string, extra?: { to?: string; id?: string; body?: string }): Promise<string>;
  caseIn(reference: string, status: string): Promise<NonNullable<Awaited<ReturnType<typeof getCaseByReference>>>>;
  close(): Promise<void>;
}

let counter = 0;

/** The whole service (workers, HTTP, sweeps) on a fresh database, sending mail to a capture sink. */
export async function startTestService(overrides: Record<string, string> = {}, logLines?: string[]): Promise<TestService> {
  const sink = await startSmtpSink();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const app = await createTestApp({ SMTP_URL: sink.url, PORT: String(port), PUBLIC_URL: base, ...overrides }, logLines);
  const directory = parseDirectoryFile(JSON.parse(await readFile(join(__dirname, '../../fixtures/directory.json'), 'utf8')));
  await importDirectory(app.ctx.db, directory, { replace: false, effects: NO_DIRECTORY_EFFECTS });
  const service = await startService(app.ctx);
  return {
    app,
    service,
    sink,
    base,
    async write(from, subject, extra = {}) {
      const raw = makeMessage({ from, subject, id: extra.id ?? `t${Date.now()}-${counter++}`, to: extra.to, body: extra.body });
      const result = await fileRawMessage(app.ctx.intake, raw, { source: 'pipe' });
      if (result.outcome !== 'case') throw new Error(`expected a case, got ${result.outcome}`);
      return result.reference;
    },
    async caseIn(reference, status) {
      return eventually(async () => {
        const c = await getCaseByReference(app.ctx.db, reference);
        return c?.status === status ? c : undefined;
      }, 15000, `${reference} to be ${status}`);
    },
    async close() {
      await service.stop();
      await app.close();
      await sink.stop();
    },
  };
}

/** The first link in a mail's HTML body whose href starts with `prefix`. */
export function linkIn(html: string, prefix: string): string {
  const m = new RegExp(`href="(${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^"]*)"`).exec(html);
  if (!m?.[1]) throw new Error(`no link starting with ${prefix}`);
  return m[1].replace(/&amp;/g, '&');
}
