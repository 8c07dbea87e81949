import { fileRawMessage } from '../../src/intake/ingest';
import { portalClient } from '../support/portal';
import { appleMail, exchangeOnline, gmail, htmlOnly, outlookDesktop, plain, thunderbird, type Shape } from '../support/reply-shapes';
import { startTestService, type TestService } from '../support/service';
import { signedInStaff, type WebClient } from '../support/staff';

const decode = (s: string) => s.replace(/&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');

/** The n-th message of a case page: what it shows first and what it folds away. */
function shown(html: string, n: number): { written: string | null; folded: string | null; whole: string | null } {
  const article = html.split(`id="message-${n}"`)[1]?.split('</article>')[0] ?? '';
  const pick = (re: RegExp) => (re.exec(article)?.[1] ?? null);
  return {
    written: pick(/<pre class="written">([\s\S]*?)<\/pre>/),
    folded: pick(/<details class="folded">[\s\S]*?<pre>([\s\S]*?)<\/pre>/),
    whole: pick(/^[\s\S]*?<pre>([\s\S]*?)<\/pre>/),
  };
}

// A customer answers the case from the mail clients the approval replies cover; the thread shows
// their words first and folds the quoted history and signature, on the dashboard and the portal.
describe('a reply shows what was written on top, the rest folded', () => {
  let t: TestService;
  let staff: WebClient;
  let portal: WebClient;
  let ref: string;
  let firstMessageId: string;
  let n = 1;

  beforeAll(async () => {
    t = await startTestService();
    ref = await t.write('Bob Builder <bob@acme.test>', 'Printer on fire', { to: 'acme-prod@support.example.com' });
    await t.caseIn(ref, 'open');
    firstMessageId = (await t.app.ctx.db.selectFrom('messages').innerJoin('cases', 'cases.id', 'messages.case_id').select('messages.message_id').where('cases.reference', '=', ref).executeTakeFirstOrThrow()).message_id!;
    [staff, portal] = await Promise.all([signedInStaff(t.app.ctx.db, t.base), portalClient(t, 'bob@acme.test')]);
  });
  afterAll(() => t.close());

  const clients: Array<[string, Shape]> = [
    ['Gmail', gmail()],
    ['Outlook desktop', outlookDesktop()],
    ['Outlook on the web', exchangeOnline],
    ['Apple Mail on an iPhone', appleMail],
    ['Thunderbird', thunderbird()],
    ['plain text, -----Original Message-----', plain('original')],
    ['HTML only', htmlOnly()],
  ];

  it.each(clients)('%s', async (_name, shape) => {
    const top = `Still burning after the reset (${_name}).\nThe smoke is blue now.`;
    const raw = await shape(top, { from: 'Bob Builder <bob@acme.test>', to: 'acme-prod@support.example.com', inReplyTo: firstMessageId, messageId: `fold-${n}@acme.test` });
    const result = await fileRawMessage(t.app.ctx.intake, Buffer.from(raw.toString('latin1').replace(/CASE-000001/g, ref), 'latin1'), { source: 'pipe' });
    expect(result).toMatchObject({ outcome: 'reply', reference: ref });
    n += 1;
    for (const client of [staff, portal]) {
      const page = await client.get(client === staff ? `/dashboard/cases/${ref}` : `/portal/cases/${ref}`);
      expect(page.status).toBe(200);
      const m = shown(page.text, n);
      // Outlook's HTML makes each line a paragraph: blank lines between them are the converter's.
      expect(m.written && decode(m.written).replace(/\n+/g, '\n')).toBe(top);
      // The whole message is kept, folded: its quoted request is there.
      expect(m.folded && decode(m.folded)).toContain('is not yet authorized to open cases');
    }
  });

  it('shows a message with nothing quoted whole, with nothing to unfold', async () => {
    const page = await staff.get(`/dashboard/cases/${ref}`);
    const first = shown(page.text, 1);
    expect(first.written).toBeNull();
    expect(first.folded).toBeNull();
    expect(first.whole).not.toBeNull();
  });
});
