import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { directoryEffects } from '../../src/approvals/admissions';
import { routeCase } from '../../src/approvals/staff-actions';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { fileRawMessage } from '../../src/intake/ingest';
import { loadPerson } from '../../src/portal/people';
import { loadTeam, parseMemberForm, saveMember } from '../../src/portal/team';
import { enqueueDeliveries } from '../../src/queue/handlers';
import { runCli } from '../support/cli';
import { cliEnv, eventually } from '../support/env';
import { makeMessage } from '../support/messages';
import { portalClient } from '../support/portal';
import { linkIn, startTestService, type TestService } from '../support/service';
import { csrfIn, signedInStaff, type WebClient } from '../support/staff';

const FIXTURE = join(__dirname, '../../fixtures/directory.json');
type DirectoryJson = { companies: Array<{ key: string; contacts: Array<Record<string, unknown>>; infrastructures: Array<{ key: string; permissions: Array<Record<string, unknown>> }> }> };

describe('roles agree with what the portal says and with the held cases', () => {
  let t: TestService;
  let alice: WebClient;
  beforeAll(async () => {
    t = await startTestService();
    alice = await portalClient(t, 'alice@acme.test');
  });
  afterAll(() => t.close());

  const db = () => t.app.ctx.db;
  const approvalOf = (email: string) => db().selectFrom('approvals').selectAll().where('requester_email', '=', email).orderBy('id', 'desc').executeTakeFirstOrThrow();
  const auditOf = (email: string, action: string) => db().selectFrom('audit_log').select(['actor', 'channel', 'approval_id', 'infrastructure_id', 'detail']).where('subject_email', '=', email).where('action', '=', action).orderBy('id').execute();

  /** Posts the team page's add (or edit) form as alice, with the page's CSRF token; returns the page shown after the redirect. */
  async function teamForm(form: Record<string, string>, member?: string): Promise<string> {
    const page = await alice.get('/portal/team?company=acme');
    const res = await alice.post(member ? `/portal/team/${encodeURIComponent(member)}` : '/portal/team', { _csrf: csrfIn(page.text), company: 'acme', ...form });
    expect(res.status).toBe(303);
    return (await alice.get(res.headers.get('location')!)).text;
  }

  it('a member added with every role at "none" is told the truth: the page, the invitation and their first mail agree', async () => {
    const page = await teamForm({ email: 'nobody@acme.test', name: 'Norma Noroles', 'role.acme-prod': 'none', 'role.acme-dev': 'none' });
    const message = /<p class="ok-note" role="status" id="message">([^<]*)<\/p>/.exec(page)?.[1] ?? '';
    expect(message).not.toMatch(/may open cases at once/);
    expect(message).toMatch(/may not open cases yet/);
    expect(page).toContain('May not open cases: their mail is held for approval.');
    const invitation = await eventually(async () => t.sink.to('nobody@acme.test')[0]);
    expect(invitation.parsed.text).toContain('what you write to us waits for their approval');
    const held = await t.caseIn(await t.write('Norma <nobody@acme.test>', 'My first question'), 'suspended');
    expect(held.holdReason).toBe('not_permitted');

    // With a role, the page says where they may open cases.
    const withRole = await teamForm({ email: 'somebody@acme.test', name: 'Sam Somerole', 'role.acme-prod': 'user', 'role.acme-dev': 'none' });
    expect(withRole).toContain('may open cases at once on Acme Production.');
  });

  it('the after-change message shows only on the redirect that followed the change, not on a crafted link', async () => {
    const crafted = await alice.get('/portal/team?company=acme&done=added&member=mallory%40evil.test&released=7');
    expect(crafted.status).toBe(200);
    expect(crafted.text).not.toMatch(/held cases were released|Added\b/);
    const forged = await alice.get('/portal/team?company=acme&done=saved&released=7&sig=aaaaaaaaaaaaaaaaaaaaaaaaaa');
    expect(forged.text).not.toMatch(/held cases were released|Saved\./);
    // The real redirect still says what happened.
    expect(await teamForm({ email: 'signed@acme.test', name: 'Sig Ned', 'role.acme-prod': 'user', 'role.acme-dev': 'none' })).toContain('Added signed@acme.test.');
  });

  it('a role given in the portal releases the held cases, mails the released notice and CC copies, and settles the request; the approver’s link says who decided and how', async () => {
    const ref = await t.write('Mallory Newhire <mallory@acme.test>', 'VPN down on night shift');
    const held = await t.caseIn(ref, 'suspended');
    expect(held.holdReason).toBe('unknown_sender');
    const request = await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.subject ?? '').includes('mallory@acme.test')));
    const link = linkIn(String(request.parsed.html), `${t.base}/approvals/`).split('?')[0]!;

    const page = await teamForm({ email: 'mallory@acme.test', name: 'Mallory Newhire', 'role.acme-prod': 'user', 'role.acme-dev': 'none' });
    expect(page).toContain('may open cases at once on Acme Production. One held case was released: its requester may now open cases there.');
    const opened = await t.caseIn(ref, 'open');
    expect(opened.holdReason).toBeNull();
    // The released notice to her, the copy to bob (CC in all acme-prod cases): the approval path's mail.
    await eventually(async () => t.sink.to('mallory@acme.test').find((m) => (m.parsed.text ?? '').includes(ref) && /open/i.test(m.parsed.subject ?? '')));
    const kinds = await db().selectFrom('outbox').innerJoin('cases', 'cases.id', 'outbox.case_id').select(['outbox.kind', 'outbox.to_address']).where('cases.reference', '=', ref).orderBy('outbox.id').execute();
    expect(kinds).toEqual(expect.arrayContaining([{ kind: 'released_notice', to_address: 'mallory@acme.test' }, { kind: 'case_copy', to_address: 'bob@acme.test' }]));
    await eventually(async () => t.sink.to('bob@acme.test').find((m) => (m.parsed.text ?? '').includes(ref) && m !== request));

    const approval = await approvalOf('mallory@acme.test');
    expect(approval).toMatchObject({ status: 'authorized', decided_by: 'alice@acme.test', channel: 'team' });
    const [settled] = await auditOf('mallory@acme.test', 'approval_authorized');
    expect(settled).toMatchObject({ actor: 'alice@acme.test', channel: 'portal', approval_id: approval.id, detail: { settledBy: 'directory_change', releasedCases: 1 } });
    const events = await db().selectFrom('case_events').innerJoin('cases', 'cases.id', 'case_events.case_id').select(['case_events.actor', 'case_events.detail']).where('cases.reference', '=', ref).where('case_events.kind', '=', 'released').execute();
    expect(events).toEqual([{ actor: 'alice@acme.test', detail: expect.objectContaining({ channel: 'portal', approvalId: approval.id }) }]);

    const res = await fetch(link);
    const text = await res.text();
    expect(text).toContain('This request has been decided');
    expect(text).toContain('Decided by alice@acme.test by giving them access on the support portal’s team page');
    // A late click on the old link changes nothing.
    expect((await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=ignore' })).status).toBe(409);
    expect((await approvalOf('mallory@acme.test')).status).toBe('authorized');
  });

  it('a role given to a member held as not_permitted releases them too', async () => {
    const ref = await t.write('Dave <dave@acme.test>', 'Permission needed');
    expect((await t.caseIn(ref, 'suspended')).holdReason).toBe('not_permitted');
    await teamForm({ 'role.acme-prod': 'user' }, 'dave@acme.test');
    await t.caseIn(ref, 'open');
    expect(await approvalOf('dave@acme.test')).toMatchObject({ status: 'authorized', channel: 'team' });
  });

  it('directory import that grants the permission releases the same way, and settles the request as the import', async () => {
    const ref = await t.write('Pat Contractor <pat@acme.test>', 'Import me');
    expect((await t.caseIn(ref, 'suspended')).holdReason).toBe('unknown_sender');
    const file = JSON.parse(await readFile(FIXTURE, 'utf8')) as DirectoryJson;
    const acme = file.companies[0]!;
    acme.contacts.push({ email: 'pat@acme.test', name: 'Pat Contractor' });
    acme.infrastructures.find((i) => i.key === 'acme-prod')!.permissions.push({ email: 'pat@acme.test', role: 'user' });
    const path = join(await mkdtemp(join(tmpdir(), 'roles-')), 'directory.json');
    await writeFile(path, JSON.stringify(file));
    const run = await runCli(['directory', 'import', path], { ...cliEnv(t.app), SUPPORT_ADDRESS: 'support@support.example.com', PUBLIC_URL: t.base });
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain('released 1 held cases');
    await t.caseIn(ref, 'open');
    await eventually(async () => t.sink.to('pat@acme.test').find((m) => (m.parsed.text ?? '').includes(ref) && /open/i.test(m.parsed.subject ?? '')));
    expect(await approvalOf('pat@acme.test')).toMatchObject({ status: 'authorized', decided_by: 'directory-import', channel: 'import' });
    expect(await auditOf('pat@acme.test', 'approval_authorized')).toEqual([expect.objectContaining({ actor: 'directory-import', channel: 'import' })]);
  });

  it('removing a member in the portal ends their portal sessions', async () => {
    const erin = await portalClient(t, 'erin@mail.test');
    expect((await erin.get('/portal/cases')).status).toBe(200);
    await teamForm({ action: 'remove' }, 'erin@mail.test');
    expect(await db().selectFrom('portal_sessions').select('email').where('email', '=', 'erin@mail.test').execute()).toEqual([]);
    const after = await erin.get('/portal/cases');
    expect(after.status).toBe(303);
    expect(after.res.headers.get('location')).toBe('/portal/login');
  });

  it('directory import --replace that drops a member ends their portal sessions', async () => {
    const carol = await portalClient(t, 'carol@acme.test');
    expect((await carol.get('/portal/cases')).status).toBe(200);
    const file = JSON.parse(await readFile(FIXTURE, 'utf8')) as DirectoryJson;
    const acme = file.companies[0]!;
    acme.contacts = acme.contacts.filter((c) => c.email !== 'carol@acme.test' && c.email !== 'erin@mail.test');
    for (const i of acme.infrastructures) i.permissions = i.permissions.filter((p) => p.email !== 'carol@acme.test' && p.email !== 'erin@mail.test');
    const summary = await importDirectory(db(), parseDirectoryFile({ companies: [acme] }), { replace: true, effects: directoryEffects(t.app.ctx.approvals) });
    await enqueueDeliveries(t.app.ctx, summary.outboxIds ?? []); // (absent before the import took effects)
    expect(await db().selectFrom('contacts').select('id').where('email', '=', 'carol@acme.test').execute()).toEqual([]);
    expect((await carol.get('/portal/cases')).status).toBe(303);
  });

  it('an infrastructure administrator changes the security contact only of contacts on their infrastructures', async () => {
    // Alice (company admin, no infrastructure role) is a security contact; bob administers acme-prod only.
    await teamForm({ name: 'Alice Admin', companyAdmin: 'on', securityContact: 'on', phone: '+1 555 0199' }, 'alice@acme.test');
    const bob = await loadPerson(db(), 'bob@acme.test');
    const clear = await saveMember(t.app.ctx.approvals, bob, 'acme', parseMemberForm({ email: 'alice@acme.test' }, ['acme-prod', 'acme-dev']), { create: false });
    expect(clear).toMatchObject({ ok: false, reason: 'forbidden' });
    expect(await db().selectFrom('contacts').select(['security_contact', 'phone']).where('email', '=', 'alice@acme.test').executeTakeFirstOrThrow()).toEqual({ security_contact: true, phone: '+1 555 0199' });
    // On someone with a role on acme-prod, he may.
    const own = await saveMember(t.app.ctx.approvals, bob, 'acme', parseMemberForm({ email: 'dave@acme.test', securityContact: 'on', phone: '+1 555 0142' }, ['acme-prod', 'acme-dev']), { create: false });
    expect(own).toMatchObject({ ok: true, actions: ['security_contact_set'] });
    // The page offers the box only where he may change it.
    const view = await loadTeam(db(), bob, 'acme');
    if (!view.ok) throw new Error(view.message);
    expect(view.team.contacts.find((c) => c.email === 'alice@acme.test')!.mayEditSecurityContact).toBe(false);
    expect(view.team.contacts.find((c) => c.email === 'dave@acme.test')!.mayEditSecurityContact).toBe(true);
  });

  it('a pending company admin has no authority in the portal until they are active', async () => {
    await teamForm({ email: 'pia@acme.test', name: 'Pia Pending', companyAdmin: 'on', 'role.acme-prod': 'administrator' });
    const pia = await loadPerson(db(), 'pia@acme.test');
    expect(pia.memberships[0]).toMatchObject({ status: 'pending', companyRole: 'admin' });
    expect(await loadTeam(db(), pia, 'acme')).toMatchObject({ ok: false, reason: 'forbidden' });
    const attempt = await saveMember(t.app.ctx.approvals, pia, 'acme', parseMemberForm({ email: 'dave@acme.test', companyAdmin: 'on' }, ['acme-prod', 'acme-dev']), { create: false });
    expect(attempt).toMatchObject({ ok: false, reason: 'forbidden' });
    expect((await db().selectFrom('contacts').select('company_role').where('email', '=', 'dave@acme.test').executeTakeFirstOrThrow()).company_role).toBe('member');
  });

  it('the route control on an unrouted case offers only its company’s infrastructures, nothing preselected, and routing elsewhere is refused', async () => {
    const ref = await t.write('Ivan <ivan@initech.test>', 'Which infrastructure?');
    expect((await t.caseIn(ref, 'suspended')).holdReason).toBe('unrouted');
    const staff = await signedInStaff(db(), t.base);
    const page = await staff.get(`/dashboard/cases/${ref}`);
    const select = /<select name="infrastructure"[^>]*>([\s\S]*?)<\/select>/.exec(page.text)?.[1] ?? '';
    const options = [...select.matchAll(/<option value="([^"]*)"([^>]*)>/g)].map((m) => ({ value: m[1], selected: /selected/.test(m[2]!) }));
    expect(options).toEqual([{ value: '', selected: true }, { value: 'initech-a', selected: false }, { value: 'initech-b', selected: false }]);
    const row = await db().selectFrom('cases').select('id').where('reference', '=', ref).executeTakeFirstOrThrow();
    expect(await routeCase(t.app.ctx.approvals, row.id, 'acme-prod', 'sam@vendor.test')).toEqual({ result: 'refused', reason: 'other_company', outboxIds: [] });
    expect(await routeCase(t.app.ctx.approvals, row.id, 'initech-b', 'sam@vendor.test')).toMatchObject({ result: 'done' });
  });
});

describe('a role does not vouch for a message', () => {
  const AUTHSERV = 'mx.support.example.com';
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ INBOUND_AUTHSERV_ID: AUTHSERV });
  });
  afterAll(() => t.close());

  /** Dave's mail, with our server's dmarc=pass or with none. */
  async function fromDave(subject: string, verified: boolean): Promise<string> {
    const header = verified ? `Authentication-Results: ${AUTHSERV}; dmarc=pass header.from=acme.test\r\n` : '';
    const result = await fileRawMessage(t.app.ctx.intake, Buffer.concat([Buffer.from(header), makeMessage({ from: 'dave@acme.test', subject, id: `rv-${subject.length}-${Date.now()}` })]), { source: 'pipe' });
    if (result.outcome !== 'case') throw new Error(`expected a case, got ${result.outcome}`);
    return result.reference;
  }

  it('keeps a case held as sender_not_verified, and its request pending, when the sender is given a role', async () => {
    const unverified = await fromDave('Unverified, in dave’s name', false);
    expect((await t.caseIn(unverified, 'suspended')).holdReason).toBe('sender_not_verified');
    const verified = await fromDave('Verified, but no role', true);
    expect((await t.caseIn(verified, 'suspended')).holdReason).toBe('not_permitted');

    const alice = await loadPerson(t.app.ctx.db, 'alice@acme.test');
    const outcome = await saveMember(t.app.ctx.approvals, alice, 'acme', parseMemberForm({ email: 'dave@acme.test', 'role.acme-prod': 'user' }, ['acme-prod', 'acme-dev']), { create: false });
    expect(outcome).toMatchObject({ ok: true, actions: ['permission_granted'] });
    await t.caseIn(verified, 'open');
    expect((await t.caseIn(unverified, 'suspended')).holdReason).toBe('sender_not_verified');
    const approval = await t.app.ctx.db.selectFrom('approvals').select(['status']).where('requester_email', '=', 'dave@acme.test').executeTakeFirstOrThrow();
    expect(approval.status).toBe('pending');
  });
});
