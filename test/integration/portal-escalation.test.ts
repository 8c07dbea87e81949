import { fileRawMessage } from '../../src/intake/ingest';
import { apiOk } from '../support/api';
import { setStaffPassword } from '../../src/staff/accounts';
import { eventually } from '../support/env';
import { portalClient } from '../support/portal';
import { startTestService, type TestService } from '../support/service';
import { csrfIn, STAFF_PASSWORD, type WebClient } from '../support/staff';

const TOKEN = 'portal-escalation-api-token-0123456789';
const AGENT = 'agent@support.example.com';
const LEAD = 'lead@support.example.com';

/** Erin's mail to support with Dave (an active member without any role) in Cc. */
function withCc(subject: string, id: string): Buffer {
  return Buffer.from(
    [
      'From: Erin <erin@mail.test>',
      'To: support@support.example.com',
      'Cc: Dave <dave@acme.test>',
      `Subject: ${subject}`,
      `Message-ID: <${id}@tests.case-intake.test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Everything is slow.',
      '',
    ].join('\r\n'),
  );
}

/**
 * Escalation from the portal on the real service: who may (the requester, an administrator of the
 * case's infrastructure, an admin of its company), who may not (a colleague cc'd on it, anyone who
 * cannot see it), what it writes (case, event, audit row, mail to the assignee or every staff
 * account), and what it refuses (twice, a solved or held case, no form token, no reason).
 */
describe('portal escalation (PostgreSQL, Redis, SMTP sink)', () => {
  let t: TestService;
  let erin: WebClient; // requester; user on acme-prod
  let bob: WebClient; // administrator of acme-prod
  let alice: WebClient; // acme company admin
  let dave: WebClient; // acme member without a role, cc'd on Erin's cases
  let gina: WebClient; // globex admin
  beforeAll(async () => {
    t = await startTestService({ API_TOKEN: TOKEN, ESCALATION_NOTIFY: 'assignee' });
    await setStaffPassword(t.app.ctx.db, AGENT, STAFF_PASSWORD);
    await setStaffPassword(t.app.ctx.db, LEAD, STAFF_PASSWORD);
    [erin, bob, alice, dave, gina] = await Promise.all([
      portalClient(t, 'erin@mail.test'),
      portalClient(t, 'bob@acme.test'),
      portalClient(t, 'alice@acme.test'),
      portalClient(t, 'dave@acme.test'),
      portalClient(t, 'gina@globex.test'),
    ]);
  });
  afterAll(() => t?.close());

  const db = () => t.app.ctx.db;
  const api = (method: string, url: string, body: unknown) => apiOk(t.base, TOKEN, method, url, body);
  let n = 0;
  const erinsCase = async (subject: string) => {
    const r = await fileRawMessage(t.app.ctx.intake, withCc(`${subject} ${n}`, `esc-${n++}`), { source: 'pipe' });
    if (r.outcome !== 'case') throw new Error(r.outcome);
    await t.caseIn(r.reference, 'open');
    return r.reference;
  };
  const caseRow = (ref: string) => db().selectFrom('cases').selectAll().where('reference', '=', ref).executeTakeFirstOrThrow();
  /** What an escalation writes, for one case. */
  const written = async (ref: string) => {
    const c = await caseRow(ref);
    const [events, audits, mails] = await Promise.all([
      db().selectFrom('case_events').select(['actor', 'channel', 'detail']).where('case_id', '=', c.id).where('kind', '=', 'escalated').orderBy('id').execute(),
      db().selectFrom('audit_log').select(['actor', 'channel', 'subject_email', 'company_id', 'infrastructure_id', 'detail']).where('case_id', '=', c.id).where('action', '=', 'case_escalated').orderBy('id').execute(),
      db().selectFrom('outbox').select(['to_address', 'subject']).where('case_id', '=', c.id).where('kind', '=', 'escalation_notice').orderBy('to_address').execute(),
    ]);
    return { escalated: { at: c.escalated_at, by: c.escalated_by, reason: c.escalation_reason }, events, audits, mails };
  };
  const NOTHING = { escalated: { at: null, by: null, reason: null }, events: [], audits: [], mails: [] };
  const tokenOf = async (client: WebClient) => csrfIn((await client.get('/portal')).text);
  const escalate = async (client: WebClient, ref: string, reason: string, csrf?: string | null) =>
    client.post(`/portal/cases/${ref}/escalation`, { ...(csrf === null ? {} : { _csrf: csrf ?? (await tokenOf(client)) }), reason });
  const hasForm = async (client: WebClient, ref: string) => (await client.get(`/portal/cases/${ref}`)).text.includes(`action="/portal/cases/${ref}/escalation"`);

  it('lets the requester escalate an unassigned case: marked, event, audit row, and every staff account mailed', async () => {
    const ref = await erinsCase('Everything slow');
    expect(await hasForm(erin, ref)).toBe(true);
    const res = await escalate(erin, ref, '  Production is crawling.\nPlease look now.  ');
    expect([res.status, res.headers.get('location')]).toEqual([303, `/portal/cases/${ref}?notice=escalated`]);

    const c = await caseRow(ref);
    const w = await written(ref);
    expect(w.escalated).toEqual({ at: expect.any(Date), by: 'erin@mail.test', reason: 'Production is crawling.\nPlease look now.' });
    expect(w.events).toEqual([{ actor: 'erin@mail.test', channel: 'portal', detail: { reason: 'Production is crawling.\nPlease look now.' } }]);
    expect(w.audits).toEqual([{ actor: 'erin@mail.test', channel: 'portal', subject_email: 'erin@mail.test', company_id: c.company_id, infrastructure_id: c.infrastructure_id, detail: { reference: ref } }]);
    expect(w.mails.map((m) => m.to_address)).toEqual([AGENT, LEAD]);
    for (const staff of [AGENT, LEAD]) {
      const mail = await eventually(async () => t.sink.to(staff).find((m) => (m.parsed.subject ?? '').startsWith(`[${ref}] Escalated by erin@mail.test`)), 15000, `the escalation notice to ${staff}`);
      expect(mail.parsed.text).toContain('Production is crawling.');
    }

    const page = await erin.get(res.headers.get('location')!);
    expect(page.text).toContain('Escalated: our support team has been told');
    expect(page.text).toMatch(/<dt>Escalated<\/dt><dd id="escalated-at"><span class="badge escalated">escalated<\/span> <time datetime="[^"]+">\d+ \w+ \d{4}, \d\d:\d\d:\d\d UTC<\/time><\/dd>/);
    expect(page.text).toContain('This case was escalated on');
    expect(page.text).not.toContain(`action="/portal/cases/${ref}/escalation"`);
    // Nothing staff-internal: who was told, the dashboard link.
    for (const internal of [AGENT, LEAD, '/dashboard/']) expect(page.text).not.toContain(internal);

    // A second escalation is a conflict, and writes nothing more.
    const again = await escalate(alice, ref, 'Again!');
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await again.text()).toContain(`${ref}: the case is already escalated`);
    expect(await written(ref)).toEqual(w);
  });

  it('mails only the assignee when the case has one; an infrastructure administrator may escalate', async () => {
    const ref = await erinsCase('Assigned and slow');
    await api('PATCH', `/api/cases/${ref}`, { assignee: LEAD });
    expect(await hasForm(bob, ref)).toBe(true);
    expect((await escalate(bob, ref, 'Our night shift is blocked.')).status).toBe(303);
    const w = await written(ref);
    expect(w.escalated.by).toBe('bob@acme.test');
    expect(w.audits).toEqual([expect.objectContaining({ actor: 'bob@acme.test', channel: 'portal' })]);
    expect(w.mails.map((m) => m.to_address)).toEqual([LEAD]);
  });

  it('lets a company admin escalate a pending case', async () => {
    const ref = await erinsCase('Waiting on us');
    await api('POST', `/api/cases/${ref}/replies`, { text: 'Can you send the logs?', status: 'pending' });
    expect(await hasForm(alice, ref)).toBe(true);
    expect((await escalate(alice, ref, 'The logs are attached to the first mail.')).status).toBe(303);
    expect((await written(ref)).escalated.by).toBe('alice@acme.test');
    expect((await caseRow(ref)).status).toBe('pending');
  });

  it('refuses a colleague who sees the case but did not open it (403), and anyone who cannot see it (404)', async () => {
    const ref = await erinsCase('Colleague in Cc');
    // Dave sees the case (cc'd on it) and may comment, not escalate.
    const page = await dave.get(`/portal/cases/${ref}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`action="/portal/cases/${ref}/comments"`);
    expect(page.text).not.toContain(`action="/portal/cases/${ref}/escalation"`);
    const res = await escalate(dave, ref, 'Me too');
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('Not allowed');

    const hidden = await escalate(gina, ref, 'Not mine');
    const unknown = await escalate(gina, 'CASE-999999', 'No such case');
    expect([hidden.status, unknown.status]).toEqual([404, 404]);
    expect((await hidden.text()).replace(ref, 'X')).toBe((await unknown.text()).replace('CASE-999999', 'X'));
    expect(await written(ref)).toEqual(NOTHING);
  });

  it('refuses without the form token or a reason, and on a solved or held case', async () => {
    const ref = await erinsCase('Refusals');
    expect((await escalate(erin, ref, 'No token', null)).status).toBe(403);
    expect((await escalate(erin, ref, 'Bob’s token', await tokenOf(bob))).status).toBe(403);
    const empty = await escalate(erin, ref, ' \n ');
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('say why the case needs escalating');
    expect((await escalate(erin, ref, 'x'.repeat(4001))).status).toBe(400);
    expect(await written(ref)).toEqual(NOTHING);

    await api('PATCH', `/api/cases/${ref}`, { status: 'solved' });
    expect(await hasForm(erin, ref)).toBe(false);
    const solved = await escalate(erin, ref, 'It is not solved');
    expect(solved.status).toBe(409);
    expect(await solved.text()).toContain('the case is solved; comment on it to open it again');
    expect(await written(ref)).toEqual(NOTHING);

    const held = await t.write('Mallory <mallory@acme.test>', 'Let me in');
    await t.caseIn(held, 'suspended');
    expect(await hasForm(bob, held)).toBe(false);
    expect((await escalate(bob, held, 'Urgent')).status).toBe(409);
    expect(await written(held)).toEqual(NOTHING);
  });
});
