import { eventually } from '../support/env';
import { linkIn, startTestService, type TestService } from '../support/service';
import { csrfIn, signedInStaff, STAFF_PASSWORD } from '../support/staff';

const SECRET_BODY = 'the-body-says-rosebud-4711';

describe('the log: one JSON line per event, with the case reference, and never a secret', () => {
  const lines: string[] = [];
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({}, lines);
  });
  afterAll(() => t.close());

  it('logs a held case, the approval by link, a staff sign-in and action without tokens, passwords, cookies or bodies', async () => {
    const held = await t.write('Mallory <mallory@acme.test>', 'Logged hold', { body: SECRET_BODY });
    await t.caseIn(held, 'suspended');
    const request = await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes('mallory@acme.test')));
    const link = linkIn(String(request.parsed.html), `${t.base}/approvals/`);
    const token = new URL(link).pathname.split('/').pop()!;
    const page = await (await fetch(link)).text();
    await fetch(link.split('?')[0]!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=authorize' });
    await t.caseIn(held, 'open');
    expect(page).toContain('Authorize');

    const staff = await signedInStaff(t.app.ctx.db, t.base);
    const other = await t.write('Nina <nina@acme.test>', 'Second hold');
    await t.caseIn(other, 'suspended');
    const casePage = await staff.get(`/dashboard/cases/${other}`);
    await staff.post(`/dashboard/cases/${other}/decision`, { _csrf: csrfIn(casePage.text), decision: 'ignore', reason: 'spam' });
    await t.caseIn(other, 'ignored');
    await eventually(async () => lines.some((l) => l.includes('"staff_action"')) || undefined);

    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const decided = parsed.filter((l) => l.msg === 'case decided');
    expect(decided.map((l) => l.case)).toEqual(expect.arrayContaining([held, other]));
    expect(parsed.find((l) => l.event === 'staff_action')).toMatchObject({ case: other, staff: 'agent@support.example.com', outcome: 'approval_ignored' });
    expect(parsed.find((l) => l.event === 'staff_login')).toMatchObject({ staff: 'agent@support.example.com' });
    expect(parsed.filter((l) => l.msg === 'mail sent').every((l) => typeof l.case === 'string' || l.case === null)).toBe(true);

    const all = lines.join('\n');
    const cookie = /case_intake_staff=([^;]+)/.exec(staff.cookieHeader)![1]!;
    for (const secret of [SECRET_BODY, STAFF_PASSWORD, token, cookie, t.app.ctx.config.apiToken, t.app.ctx.config.linkSecret]) {
      expect(all.includes(secret) ? secret : null).toBeNull();
    }
  });
});
