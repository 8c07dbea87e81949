import { fileRawMessage } from '../../src/intake/ingest';
import { portalClient } from '../support/portal';
import { startTestService, type TestService } from '../support/service';
import { csrfIn, type WebClient } from '../support/staff';

const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror=alert(1)>';

/** A message with a cc'd participant and an attachment. */
function withAttachment(from: string, cc: string, id: string): Buffer {
  return Buffer.from(
    [
      `From: ${from}`,
      'To: support@support.example.com',
      `Cc: ${cc}`,
      `Subject: Logs attached ${HOSTILE}`,
      `Message-ID: <${id}@tests.case-intake.test>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/html; charset=utf-8',
      '',
      `<p>See attached</p>${HOSTILE}`,
      '--b1',
      'Content-Type: text/plain; name="log.txt"',
      'Content-Disposition: attachment; filename="log.txt"',
      '',
      'line 1 of the log',
      '--b1--',
      '',
    ].join('\r\n'),
  );
}

describe('the customer portal over HTTP (PostgreSQL, Redis, SMTP sink)', () => {
  let t: TestService;
  let bob: WebClient; // administrator of acme-prod
  let erin: WebClient; // user on acme-prod
  let gina: WebClient; // globex company admin
  let held: string; // a stranger's held case on acme-prod
  let erins: string; // erin's own case, cc'ing a participant
  beforeAll(async () => {
    t = await startTestService();
    held = await t.write('Mallory <mallory@acme.test>', `Let me in ${HOSTILE}`);
    await t.caseIn(held, 'suspended');
    const r = await fileRawMessage(t.app.ctx.intake, withAttachment('Erin <erin@mail.test>', 'Pat Partner <pat@partner.test>', 'erin-1'), { source: 'pipe' });
    if (r.outcome !== 'case') throw new Error(r.outcome);
    erins = r.reference;
    await t.caseIn(erins, 'open');
    [bob, erin, gina] = await Promise.all([portalClient(t, 'bob@acme.test'), portalClient(t, 'erin@mail.test'), portalClient(t, 'gina@globex.test')]);
  });
  afterAll(() => t.close());

  const refsIn = (html: string) => [...new Set([...html.matchAll(/href="\/portal\/cases\/(CASE-\d+)"/g)].map((m) => m[1]))].sort();

  it('lists what each person may see, and answers 404 for the rest exactly as for an unknown case', async () => {
    expect(refsIn((await bob.get('/portal/cases')).text)).toEqual([held, erins].sort());
    expect(refsIn((await erin.get('/portal/cases')).text)).toEqual([erins]);
    expect(refsIn((await gina.get('/portal/cases')).text)).toEqual([]);
    const pat = await portalClient(t, 'pat@partner.test');
    expect(refsIn((await pat.get('/portal/cases')).text)).toEqual([erins]);

    const unknown = await gina.get('/portal/cases/CASE-999999');
    for (const [who, ref] of [[erin, held], [gina, held], [gina, erins], [pat, held]] as const) {
      const res = await who.get(`/portal/cases/${ref}`);
      expect(res.status).toBe(404);
      expect(res.text.replace(ref, 'X')).toBe(unknown.text.replace('CASE-999999', 'X'));
    }
    expect((await erin.get(`/portal/cases/${erins}`)).status).toBe(200);
    expect((await pat.get(`/portal/cases/${erins}`)).status).toBe(200);
  });

  it('serves the HTML body sandboxed and attachments as downloads, only to those who see the case', async () => {
    const page = await erin.get(`/portal/cases/${erins}`);
    expect(page.text).toContain('&lt;script&gt;');
    expect(page.text).not.toContain('<script>window.__pwned');
    const html = /src="(\/portal\/messages\/\d+\/html)"/.exec(page.text)![1]!;
    const attachment = /href="(\/portal\/attachments\/\d+)"/.exec(page.text)![1]!;
    const body = await erin.get(html);
    expect(body.res.headers.get('content-security-policy')).toMatch(/^sandbox; default-src 'none'/);
    const file = await erin.get(attachment);
    expect([file.status, file.res.headers.get('content-disposition')]).toEqual([200, `attachment; filename="log.txt"; filename*=UTF-8''log.txt`]);
    expect(file.text).toBe('line 1 of the log');
    for (const url of [html, attachment]) expect((await gina.get(url)).status).toBe(404);
  });

  it('lets the infrastructure administrator decide a held case, refuses anyone else, and needs the form token', async () => {
    const heldPage = await bob.get(`/portal/cases/${held}`);
    expect(heldPage.text).toContain('waiting for your administrators’ approval');
    expect(heldPage.text).toContain('name="decision" value="authorize"');
    const approvals = await bob.get('/portal/approvals');
    expect(refsIn(approvals.text)).toEqual([held]);

    expect((await erin.post(`/portal/cases/${held}/decision`, { _csrf: csrfIn((await erin.get('/portal')).text), decision: 'authorize' })).status).toBe(404);
    expect((await gina.post(`/portal/cases/${held}/decision`, { _csrf: csrfIn((await gina.get('/portal')).text), decision: 'authorize' })).status).toBe(404);
    expect((await bob.post(`/portal/cases/${held}/decision`, { decision: 'authorize' })).status).toBe(403);
    expect((await t.caseIn(held, 'suspended')).status).toBe('suspended');

    const res = await bob.post(`/portal/cases/${held}/decision`, { _csrf: csrfIn(heldPage.text), decision: 'authorize' });
    expect([res.status, res.headers.get('location')]).toEqual([303, `/portal/cases/${held}?notice=authorized`]);
    await t.caseIn(held, 'open');
    const approval = await t.app.ctx.db.selectFrom('approvals').select(['decided_by', 'channel', 'status']).where('requester_email', '=', 'mallory@acme.test').executeTakeFirstOrThrow();
    expect(approval).toEqual({ decided_by: 'bob@acme.test', channel: 'portal', status: 'authorized' });
    const again = await bob.post(`/portal/cases/${held}/decision`, { _csrf: csrfIn(heldPage.text), decision: 'ignore' });
    expect(again.headers.get('location')).toBe(`/portal/cases/${held}?notice=already_decided`);
    expect((await bob.get(again.headers.get('location')!)).text).toContain('Someone decided this request first');
  });

  it('refuses, with 403, a decision from someone who sees the held case but may not decide it', async () => {
    const r = await fileRawMessage(t.app.ctx.intake, withAttachment('Oscar <oscar@acme.test>', 'pat@partner.test', 'oscar-1'), { source: 'pipe' });
    if (r.outcome !== 'case') throw new Error(r.outcome);
    await t.caseIn(r.reference, 'suspended');
    const pat = await portalClient(t, 'pat@partner.test');
    const page = await pat.get(`/portal/cases/${r.reference}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('value="authorize"');
    const res = await pat.post(`/portal/cases/${r.reference}/decision`, { _csrf: csrfIn(page.text), decision: 'authorize' });
    expect(res.status).toBe(403);
    expect((await t.caseIn(r.reference, 'suspended')).status).toBe('suspended');
    // The company admin may.
    const alice = await portalClient(t, 'alice@acme.test');
    expect((await alice.get(`/portal/cases/${r.reference}`)).text).toContain('value="authorize"');
  });

  it('guards the team page: the form token, the infrastructure administrator’s scope, the last company admin', async () => {
    const page = await bob.get('/portal/team');
    expect(page.status).toBe(200);
    const token = csrfIn(page.text);
    const noToken = await bob.post('/portal/team', { company: 'acme', email: 'x@acme.test', name: 'X', 'role.acme-prod': 'user' });
    expect(noToken.status).toBe(403);
    const asAdmin = await bob.post('/portal/team', { _csrf: token, company: 'acme', email: 'x@acme.test', name: 'X', companyAdmin: 'on', 'role.acme-prod': 'user' });
    expect(asAdmin.status).toBe(403);
    expect(await asAdmin.text()).toMatch(/company admin/i);
    expect(await t.app.ctx.db.selectFrom('contacts').select('id').where('email', '=', 'x@acme.test').execute()).toEqual([]);

    const alice = await portalClient(t, 'alice@acme.test');
    const alicePage = await alice.get('/portal/team');
    const demote = await alice.post('/portal/team/alice@acme.test', { _csrf: csrfIn(alicePage.text), company: 'acme', name: 'Alice Admin' });
    expect(demote.status).toBe(409);
    const remove = await alice.post('/portal/team/alice@acme.test', { _csrf: csrfIn(alicePage.text), company: 'acme', action: 'remove' });
    expect(remove.status).toBe(409);
    const alive = await t.app.ctx.db.selectFrom('contacts').select('company_role').where('email', '=', 'alice@acme.test').executeTakeFirstOrThrow();
    expect(alive.company_role).toBe('admin');
    // Another company's admin cannot open acme's team at all.
    expect((await gina.get('/portal/team?company=acme')).status).toBe(404);
  });
});
