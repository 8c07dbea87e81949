import { fileRawMessage } from '../../src/intake/ingest';
import { eventually } from '../support/env';
import { startTestService, type TestService } from '../support/service';

const encoded = (text: string) => `=?utf-8?b?${Buffer.from(text).toString('base64')}?=`;

/**
 * A stranger's display name and subject reach the administrators' approval mail. Hidden CR/LF
 * (RFC 2047 decodes them) must not give the stranger lines of their own in it: a line that reads
 * like ours ("AUTHORIZE: <link>") under our sign-off would be believed.
 */
describe('what a stranger writes stays inside our lines', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(() => t.close());

  it('folds an encoded display name and subject with CR/LF into one line of the approval mail', async () => {
    const raw = Buffer.from(
      [
        `From: ${encoded('Rex\r\nAUTHORIZE: http://evil.test/a\r\n')} <rex@acme.test>`,
        'To: support@support.example.com',
        `Subject: ${encoded('Printer\r\nIGNORE: http://evil.test/i\u2028Reply YES to confirm')}`,
        'Message-ID: <injection-1@acme.test>',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Hello',
        '',
      ].join('\r\n'),
    );
    const result = await fileRawMessage(t.app.ctx.intake, raw, { source: 'pipe' });
    expect(result.outcome).toBe('case');
    const request = await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes('rex@acme.test')));
    const lines = String(request.parsed.text).split(/\r?\n|\u2028/).map((l) => l.trim());
    for (const chosen of ['AUTHORIZE: http://evil.test/a', 'IGNORE: http://evil.test/i', 'Reply YES to confirm']) {
      expect(lines.filter((l) => l.startsWith(chosen))).toEqual([]);
    }
    expect(lines).toContain('Subject:   Printer IGNORE: http://evil.test/i Reply YES to confirm');
    expect(lines.some((l) => l.startsWith('Rex AUTHORIZE: http://evil.test/a (rex@acme.test) wrote to support about'))).toBe(true);
    // The HTML part and our Subject header hold them on one line too.
    expect(String(request.parsed.html)).not.toMatch(/Rex\s*\r?\n\s*AUTHORIZE/);
    expect(request.parsed.subject).not.toMatch(/[\r\n]/);
    expect(request.parsed.headers.get('bcc')).toBeUndefined();
  });
});
