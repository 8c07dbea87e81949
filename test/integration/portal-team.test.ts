import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { enqueueDeliveries } from '../../src/queue/handlers';
import { parseDirectoryFile } from '../../src/directory/file-format';
import { importDirectory } from '../../src/directory/import';
import { NO_DIRECTORY_EFFECTS } from '../../src/directory/changes';
import { DomainError } from '../../src/errors';
import { fileRawMessage } from '../../src/intake/ingest';
import { checkSignInLink } from '../../src/portal/links';
import { loadPerson } from '../../src/portal/people';
import { loadTeam, parseMemberForm, removeMember, saveMember, TEAM_REFUSAL_STATUS, type TeamOutcome, type TeamRefusal } from '../../src/portal/team';
import { eventually } from '../support/env';
import { makeMessage } from '../support/messages';
import { linkIn, startTestService, type TestService } from '../support/service';

const AUTHSERV = 'mx.support.example.com';
const KEYS = ['acme-prod', 'acme-dev'];

let counter = 0;

/** Helpers bound to one running service. */
function team(t: () => TestService) {
  const db = () => t().app.ctx.db;
  const deps = () => t().app.ctx.approvals;
  const as = (email: string) => loadPerson(db(), email);
  const queue = async (outcome: TeamOutcome): Promise<TeamOutcome> => {
    if (outcome.ok) await enqueueDeliveries(t().app.ctx, outcome.outboxIds);
    return outcome;
  };
  return {
    db,
    as,
    async save(actor: string, body: Record<string, unknown>, create = false, company = 'acme') {
      return queue(await saveMember(deps(), await as(actor), company, parseMemberForm(body, KEYS), { create }));
    },
    async remove(actor: string, email: string, company = 'acme') {
      return queue(await removeMember(deps(), await as(actor), company, email));
    },
    /** Takes a message in; `verified` adds our server's dmarc=pass, as a listed contact's mail needs. */
    async mail(from: string, subject: string, verified = true): Promise<string> {
      const id = `pt-${Date.now()}-${counter++}`;
      const raw = makeMessage({ from, subject, id });
      const domain = from.split('@')[1];
      const header = verified ? `Authentication-Results: ${AUTHSERV}; dkim=pass header.d=${domain}; dmarc=pass header.from=${domain}\r\n` : `Authentication-Results: mx.elsewhere.test; dmarc=pass\r\n`;
      const result = await fileRawMessage(t().app.ctx.intake, Buffer.concat([Buffer.from(header), raw]), { source: 'pipe' });
      if (result.outcome !== 'case') throw new Error(`expected a case, got ${result.outcome}`);
      return result.reference;
    },
    contact: (email: string) =>
      db().selectFrom('contacts').select(['id', 'name', 'company_role', 'status', 'source', 'security_contact', 'phone']).where('email', '=', email).executeTakeFirst(),
    permissions: (email: string) =>
      db()
        .selectFrom('permissions as p')
        .innerJoin('contacts as c', 'c.id', 'p.contact_id')
        .innerJoin('infrastructures as i', 'i.id', 'p.infrastructure_id')
        .select(['i.key', 'p.role', 'p.cc_all_cases', 'p.source', 'p.granted_by', 'p.granted_via'])
        .where('c.email', '=', email)
        .orderBy('i.key')
        .execute(),
    audit: (subject: string, actor?: string) =>
      db()
        .selectFrom('audit_log')
        .select(['actor', 'channel', 'action', 'detail'])
        .where('subject_email', '=', subject)
        .$if(actor !== undefined, (q) => q.where('actor', '=', actor!))
        .orderBy('id')
        .execute(),
    alerts: (to: string) => t().sink.to(to, /^Security alert/),
    securityAlertRows: () => db().selectFrom('outbox').select(['to_address', 'subject']).where('kind', '=', 'security_alert').orderBy('id').execute(),
  };
}

function refused(outcome: { ok: boolean }, reason: TeamRefusal['reason']): TeamRefusal {
  expect(outcome).toMatchObject({ ok: false, reason });
  return outcome as TeamRefusal;
}

describe('portal team management', () => {
  let t: TestService;
  const h = team(() => t);
  beforeAll(async () => {
    t = await startTestService({ INBOUND_AUTHSERV_ID: AUTHSERV });
  });
  afterAll(() => t.close());

  it('reads the form strictly and names every problem', () => {
    const good = parseMemberForm({ email: ' Nina@ACME.test ', name: ' Nina  New ', 'role.acme-prod': 'user', 'ccAllCases.acme-prod': 'on', 'role.acme-dev': 'none', 'ccAllCases.acme-dev': 'on', _csrf: 'x' }, KEYS);
    expect(good).toEqual({ email: 'nina@acme.test', name: 'Nina New', companyAdmin: false, securityContact: false, permissions: { 'acme-prod': { role: 'user', ccAllCases: true }, 'acme-dev': { role: 'none', ccAllCases: false } } });
    expect(parseMemberForm({ email: 'a@acme.test', companyAdmin: 'on', securityContact: 'on', phone: '+44 20 7946 0000' }, KEYS)).toMatchObject({ companyAdmin: true, securityContact: true, phone: '+44 20 7946 0000' });
    let error: unknown;
    try {
      parseMemberForm({ email: 'not-an-address', name: '   ', 'role.acme-prod': 'owner', 'role.globex-main': 'user', 'ccAllCases.acme-dev': 'on', phone: 'call me', securityContact: 'on' }, KEYS);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'invalid_input' });
    const details = (error as DomainError).details.join('\n');
    for (const field of ['email:', 'name:', 'role.acme-prod:', 'role.globex-main:', 'ccAllCases.acme-dev:', 'phone:']) expect(details).toContain(field);
    expect(() => parseMemberForm({ email: 'a@acme.test', securityContact: 'on', phone: '' }, KEYS)).toThrow(/security contact needs a phone/);
    expect(TEAM_REFUSAL_STATUS).toEqual({ invalid_input: 400, forbidden: 403, not_found: 404, last_admin: 409, already_member: 409 });
  });

  it('a company admin adds a member with roles: a pending portal contact, portal permissions, an invitation with a sign-in link, audit rows', async () => {
    const outcome = await h.save('alice@acme.test', { email: 'Nina@Acme.test', name: 'Nina New', 'role.acme-prod': 'user', 'ccAllCases.acme-prod': 'on', 'role.acme-dev': 'administrator' }, true);
    expect(outcome).toMatchObject({ ok: true, actions: ['member_added', 'permission_granted', 'permission_granted'] });
    expect(await h.contact('nina@acme.test')).toMatchObject({ name: 'Nina New', company_role: 'member', status: 'pending', source: 'portal', security_contact: false });
    expect(await h.permissions('nina@acme.test')).toEqual([
      { key: 'acme-dev', role: 'administrator', cc_all_cases: false, source: 'portal', granted_by: 'alice@acme.test', granted_via: 'portal' },
      { key: 'acme-prod', role: 'user', cc_all_cases: true, source: 'portal', granted_by: 'alice@acme.test', granted_via: 'portal' },
    ]);

    const invitation = await eventually(async () => t.sink.to('nina@acme.test')[0]);
    expect(invitation.parsed.subject).toBe('Alice Admin (alice@acme.test) added you to Acme Corporation on the support portal');
    expect(invitation.parsed.text).toContain('Alice Admin (alice@acme.test) added you (nina@acme.test) to the contacts of Acme Corporation');
    expect(invitation.parsed.text).toContain('for 7 days');
    expect(invitation.parsed.text).toContain('You may open support cases by writing to us from this address.');
    const link = linkIn(String(invitation.parsed.html), `${t.base}/portal/login/`);
    expect(invitation.parsed.text).toContain(link);
    expect(await checkSignInLink(h.db(), link.split('/').pop()!)).toEqual({ ok: true, email: 'nina@acme.test' });
    const issued = await h.db().selectFrom('portal_links').select(['created_at', 'expires_at']).where('email', '=', 'nina@acme.test').executeTakeFirstOrThrow();
    expect(issued.expires_at.getTime() - issued.created_at.getTime()).toBeGreaterThan(6.9 * 86_400_000);

    const audit = await h.audit('nina@acme.test');
    expect(audit.map((a) => [a.actor, a.channel, a.action])).toEqual([
      ['alice@acme.test', 'portal', 'member_added'],
      ['alice@acme.test', 'portal', 'permission_granted'],
      ['alice@acme.test', 'portal', 'permission_granted'],
    ]);
    expect(audit[0]!.detail).toMatchObject({ after: { name: 'Nina New', companyRole: 'member', status: 'pending' } });
    expect(audit.slice(1).map((a) => a.detail)).toEqual(
      expect.arrayContaining([expect.objectContaining({ infrastructure: 'acme-prod', before: null, after: { role: 'user', ccAllCases: true } })]),
    );

    // Someone added without any role is not promised cases.
    expect(await h.save('alice@acme.test', { email: 'quinn@acme.test', name: 'Quinn', 'role.acme-prod': 'none' }, true)).toMatchObject({ ok: true, actions: ['member_added'] });
    const quinn = await eventually(async () => t.sink.to('quinn@acme.test')[0]);
    expect(quinn.parsed.text).toContain('waits for their approval');
    expect(quinn.parsed.text).not.toContain('You may open support cases');

    // Adding the same address again is a conflict, and changes nothing.
    refused(await h.save('alice@acme.test', { email: 'nina@acme.test', name: 'Nina Again' }, true), 'already_member');
    expect((await h.contact('nina@acme.test'))!.name).toBe('Nina New');

    const view = await loadTeam(h.db(), await h.as('alice@acme.test'), 'acme');
    if (!view.ok) throw new Error(view.message);
    const nina = view.team.contacts.find((c) => c.email === 'nina@acme.test')!;
    expect(nina).toMatchObject({ status: 'pending', source: 'portal', mayRemove: true, mayChangeCompanyAdmin: true });
    expect(nina.permissions.find((p) => p.infrastructureKey === 'acme-prod')).toMatchObject({ role: 'user', ccAllCases: true, source: 'portal' });
  });

  it('mail from the member just added (still pending) opens a case at once', async () => {
    const ref = await h.mail('nina@acme.test', 'First question from Nina');
    const c = await t.caseIn(ref, 'open');
    expect(c.holdReason).toBeNull();
  });

  it('an infrastructure administrator may name a security contact, who then needs a phone number', async () => {
    refused(await h.save('bob@acme.test', { email: 'erin@mail.test', securityContact: 'on' }), 'invalid_input');
    expect(await h.contact('erin@mail.test')).toMatchObject({ security_contact: false, phone: null });
    const outcome = await h.save('bob@acme.test', { email: 'erin@mail.test', securityContact: 'on', phone: '+1 555 0100' });
    expect(outcome).toMatchObject({ ok: true, actions: ['security_contact_set'] });
    expect(await h.contact('erin@mail.test')).toMatchObject({ security_contact: true, phone: '+1 555 0100' });
    const [row] = await h.audit('erin@mail.test', 'bob@acme.test');
    expect(row).toMatchObject({ channel: 'portal', action: 'security_contact_set', detail: { before: { securityContact: false, phone: null }, after: { securityContact: true, phone: '+1 555 0100' } } });
  });

  it('an infrastructure administrator changes permissions on the infrastructures they administer, and nothing else', async () => {
    const bob = await h.as('bob@acme.test');
    const view = await loadTeam(h.db(), bob, 'acme');
    if (!view.ok) throw new Error(view.message);
    expect(view.team.mayManageCompany).toBe(false);
    expect(view.team.infrastructures.map((i) => [i.key, i.mayManage])).toEqual([
      ['acme-dev', false],
      ['acme-prod', true],
    ]);
    expect(view.team.contacts.every((c) => !c.mayRemove && !c.mayChangeCompanyAdmin && !c.mayEditName)).toBe(true);

    // On acme-prod: yes, a new portal permission, and a change to an imported one.
    expect(await h.save('bob@acme.test', { email: 'dave@acme.test', 'role.acme-prod': 'user' })).toMatchObject({ ok: true, actions: ['permission_granted'] });
    expect(await h.save('bob@acme.test', { email: 'erin@mail.test', securityContact: 'on', 'role.acme-prod': 'user', 'ccAllCases.acme-prod': 'on' })).toMatchObject({ ok: true, actions: ['permission_changed'] });
    const [changed] = (await h.audit('erin@mail.test', 'bob@acme.test')).filter((a) => a.action === 'permission_changed');
    expect(changed!.detail).toMatchObject({ infrastructure: 'acme-prod', before: { role: 'user', ccAllCases: false, source: 'import' }, after: { role: 'user', ccAllCases: true } });

    // On acme-dev: refused, also together with an allowed change (no partial change).
    const before = await h.permissions('dave@acme.test');
    const auditBefore = (await h.audit('dave@acme.test')).length;
    const dev = refused(await h.save('bob@acme.test', { email: 'dave@acme.test', 'role.acme-dev': 'user' }), 'forbidden');
    expect(dev.message).toMatch(/Acme Development/);
    refused(await h.save('bob@acme.test', { email: 'dave@acme.test', 'role.acme-prod': 'administrator', 'role.acme-dev': 'user' }), 'forbidden');
    // Company admin, and names, are not theirs either.
    refused(await h.save('bob@acme.test', { email: 'dave@acme.test', companyAdmin: 'on', 'role.acme-prod': 'administrator' }), 'forbidden');
    refused(await h.save('bob@acme.test', { email: 'dave@acme.test', name: 'Dave Renamed' }), 'forbidden');
    expect(await h.permissions('dave@acme.test')).toEqual(before);
    expect(await h.contact('dave@acme.test')).toMatchObject({ company_role: 'member', name: 'Dave No-Permission' });
    expect(await h.audit('dave@acme.test')).toHaveLength(auditBefore);

    // Values posted back unchanged are fine: bob's form for alice (a company admin) demotes nobody.
    expect(await h.save('bob@acme.test', { email: 'alice@acme.test', name: 'Alice Admin', 'role.acme-dev': 'none', 'role.acme-prod': 'none' })).toMatchObject({ ok: true, actions: [] });
    expect((await h.contact('alice@acme.test'))!.company_role).toBe('admin');

    // Adding: with a role on their infrastructure only.
    refused(await h.save('bob@acme.test', { email: 'olga@acme.test', name: 'Olga', 'role.acme-dev': 'user' }, true), 'forbidden');
    refused(await h.save('bob@acme.test', { email: 'olga@acme.test', name: 'Olga' }, true), 'forbidden');
    refused(await h.save('bob@acme.test', { email: 'olga@acme.test', name: 'Olga', companyAdmin: 'on', 'role.acme-prod': 'user' }, true), 'forbidden');
    expect(await h.contact('olga@acme.test')).toBeUndefined();
    expect(await h.save('bob@acme.test', { email: 'olga@acme.test', name: 'Olga', 'role.acme-prod': 'user' }, true)).toMatchObject({ ok: true, actions: ['member_added', 'permission_granted'] });
    expect(await h.permissions('olga@acme.test')).toEqual([{ key: 'acme-prod', role: 'user', cc_all_cases: false, source: 'portal', granted_by: 'bob@acme.test', granted_via: 'portal' }]);
    await eventually(async () => t.sink.to('olga@acme.test').find((m) => m.parsed.subject === 'Bob Builder (bob@acme.test) added you to Acme Corporation on the support portal'));

    // Removing is for company admins.
    refused(await h.remove('bob@acme.test', 'olga@acme.test'), 'forbidden');
    expect(await h.contact('olga@acme.test')).toBeDefined();
  });

  it('a member without rights sees nothing and changes nothing', async () => {
    refused(await loadTeam(h.db(), await h.as('dave@acme.test'), 'acme'), 'forbidden');
    refused(await h.save('dave@acme.test', { email: 'dave@acme.test', 'role.acme-dev': 'administrator' }), 'forbidden');
    expect((await h.permissions('dave@acme.test')).map((p) => p.key)).toEqual(['acme-prod']);
  });

  it('only company admins make company admins, and the security contacts are told', async () => {
    expect(h.alerts('erin@mail.test')).toHaveLength(0);
    const outcome = await h.save('alice@acme.test', { email: 'nina@acme.test', name: 'Nina New', companyAdmin: 'on' });
    expect(outcome).toMatchObject({ ok: true, actions: ['company_admin_granted'] });
    expect((await h.contact('nina@acme.test'))!.company_role).toBe('admin');
    // Her permissions were not on the form: unchanged.
    expect(await h.permissions('nina@acme.test')).toHaveLength(2);
    const [row] = (await h.audit('nina@acme.test', 'alice@acme.test')).filter((a) => a.action === 'company_admin_granted');
    expect(row!.detail).toEqual({ before: { companyRole: 'member' }, after: { companyRole: 'admin' } });
    const alert = await eventually(async () => h.alerts('erin@mail.test')[0]);
    expect(alert.parsed.subject).toBe('Security alert for Acme Corporation: nina@acme.test was made a company admin');
    expect(alert.parsed.text).toContain('Alice Admin (alice@acme.test) made Nina New (nina@acme.test) a company admin of Acme Corporation');
    expect(alert.parsed.text).toContain(`${t.base}/portal/team`);
  });

  it('the last company admin can be neither removed nor demoted, and nothing changes', async () => {
    // Nina is a company admin too, but pending (never signed in): she does not count.
    const before = await h.contact('alice@acme.test');
    const auditBefore = await h.audit('alice@acme.test');
    const outboxBefore = (await h.securityAlertRows()).length;
    const removal = refused(await h.remove('alice@acme.test', 'alice@acme.test'), 'last_admin');
    expect(TEAM_REFUSAL_STATUS[removal.reason]).toBe(409);
    refused(await h.save('alice@acme.test', { email: 'alice@acme.test', name: 'Alice Admin', 'role.acme-prod': 'user' }), 'last_admin');
    expect(await h.contact('alice@acme.test')).toEqual(before);
    expect(await h.permissions('alice@acme.test')).toEqual([]);
    expect(await h.audit('alice@acme.test')).toEqual(auditBefore);
    expect(await h.securityAlertRows()).toHaveLength(outboxBefore);

    const view = await loadTeam(h.db(), await h.as('alice@acme.test'), 'acme');
    if (!view.ok) throw new Error(view.message);
    expect(view.team.contacts.find((c) => c.email === 'alice@acme.test')).toMatchObject({ isLastAdmin: true, mayRemove: false, mayChangeCompanyAdmin: true, isSelf: true });
    // Her own form with the box kept ticked (as the page posts it for the last admin) is fine.
    expect(await h.save('alice@acme.test', { email: 'alice@acme.test', name: 'Alice Admin', companyAdmin: 'on' })).toMatchObject({ ok: true, actions: [] });
    expect(view.team.contacts.find((c) => c.email === 'nina@acme.test')).toMatchObject({ isLastAdmin: false, mayRemove: true });

    // Once Nina is active, Alice may step down (and the security contacts hear of it).
    await h.db().updateTable('contacts').set({ status: 'active' }).where('email', '=', 'nina@acme.test').execute();
    expect(await h.save('alice@acme.test', { email: 'alice@acme.test', name: 'Alice Admin' })).toMatchObject({ ok: true, actions: ['company_admin_revoked'] });
    await eventually(async () => h.alerts('erin@mail.test').find((m) => m.parsed.subject === 'Security alert for Acme Corporation: alice@acme.test is no longer a company admin'));
    // Now Nina is the last one; Alice, no longer an admin, cannot touch that.
    refused(await h.remove('alice@acme.test', 'nina@acme.test'), 'forbidden');
    refused(await h.remove('nina@acme.test', 'nina@acme.test'), 'last_admin');
    expect(await h.save('nina@acme.test', { email: 'alice@acme.test', name: 'Alice Admin', companyAdmin: 'on' })).toMatchObject({ ok: true, actions: ['company_admin_granted'] });
  });

  it('a removed member: their next mail is held as unknown_sender, their earlier cases stay as they were, the security contacts are told', async () => {
    const earlier = await t.caseIn(await h.mail('dave@acme.test', 'Before removal'), 'open');
    const alertsBefore = h.alerts('erin@mail.test').length;
    const outcome = await h.remove('alice@acme.test', 'dave@acme.test');
    expect(outcome).toMatchObject({ ok: true, actions: ['permission_revoked', 'member_removed'] });
    expect(await h.contact('dave@acme.test')).toBeUndefined();
    expect(await h.permissions('dave@acme.test')).toEqual([]);
    const audit = await h.audit('dave@acme.test', 'alice@acme.test');
    expect(audit.map((a) => a.action)).toEqual(['permission_revoked', 'member_removed']);
    expect(audit[1]!.detail).toMatchObject({ before: { name: 'Dave No-Permission', companyRole: 'member', permissions: [{ infrastructure: 'acme-prod', role: 'user', source: 'portal', grantedBy: 'bob@acme.test' }] }, after: null });

    const later = await t.caseIn(await h.mail('dave@acme.test', 'After removal'), 'suspended');
    expect(later.holdReason).toBe('unknown_sender');
    const again = await t.caseIn(earlier.reference, 'open');
    expect({ status: again.status, holdReason: again.holdReason, decidedAt: again.decidedAt }).toEqual({ status: earlier.status, holdReason: earlier.holdReason, decidedAt: earlier.decidedAt });

    const alert = await eventually(async () => h.alerts('erin@mail.test').find((m) => m.parsed.subject === 'Security alert for Acme Corporation: dave@acme.test was removed'));
    expect(alert.parsed.text).toContain('Alice Admin (alice@acme.test) removed Dave No-Permission (dave@acme.test) from the contacts of Acme Corporation');
    expect(h.alerts('erin@mail.test').length).toBe(alertsBefore + 1);
    refused(await h.remove('alice@acme.test', 'dave@acme.test'), 'not_found');
  });

  it('tells the security contacts when mail in a contact\'s name is held as sender_not_verified', async () => {
    const alertsBefore = h.alerts('erin@mail.test').length;
    const ref = await h.mail('bob@acme.test', 'Please reset all passwords', false);
    const c = await t.caseIn(ref, 'suspended');
    expect(c.holdReason).toBe('sender_not_verified');
    const alert = await eventually(async () => h.alerts('erin@mail.test').find((m) => (m.parsed.text ?? '').includes(ref)));
    expect(alert.parsed.subject).toBe('Security alert for Acme Corporation: unverified mail in the name of bob@acme.test');
    expect(alert.parsed.text).toContain('claims to come from Bob Builder (bob@acme.test)');
    expect(alert.parsed.text).toContain('Please reset all passwords');
    expect(alert.parsed.text).not.toContain('Message pt-'); // not the body
    const row = await h.db().selectFrom('outbox').innerJoin('cases', 'cases.id', 'outbox.case_id').select('cases.reference').where('outbox.kind', '=', 'security_alert').where('outbox.subject', 'like', '%unverified%').executeTakeFirstOrThrow();
    expect(row.reference).toBe(ref);

    // A verified member, and a stranger, alert nobody.
    await t.caseIn(await h.mail('bob@acme.test', 'Verified, fine'), 'open');
    await t.caseIn(await h.mail('mallory@acme.test', 'Stranger', false), 'suspended');
    await new Promise((r) => setTimeout(r, 300));
    expect(h.alerts('erin@mail.test')).toHaveLength(alertsBefore + 1);
  });

  it('another company\'s admin can neither see nor touch acme', async () => {
    const before = await h.db().selectFrom('contacts').select(['email', 'company_role']).orderBy('id').execute();
    const gina = await h.as('gina@globex.test');
    refused(await loadTeam(h.db(), gina, 'acme'), 'not_found');
    refused(await h.save('gina@globex.test', { email: 'bob@acme.test', companyAdmin: 'on' }), 'not_found');
    refused(await h.save('gina@globex.test', { email: 'eve@acme.test', name: 'Eve', companyAdmin: 'on' }, true), 'not_found');
    refused(await h.remove('gina@globex.test', 'bob@acme.test'), 'not_found');
    refused(await loadTeam(h.db(), gina, 'no-such-company'), 'not_found');
    expect(await h.db().selectFrom('contacts').select(['email', 'company_role']).orderBy('id').execute()).toEqual(before);
    expect(await h.audit('bob@acme.test', 'gina@globex.test')).toEqual([]);
    // Her own company, she manages.
    const own = await loadTeam(h.db(), gina, 'globex');
    expect(own.ok && own.team.mayManageCompany).toBe(true);
  });

  it('directory import --replace keeps what the portal made and audits every change and removal it makes', async () => {
    const file = parseDirectoryFile(JSON.parse(await readFile(join(__dirname, '../../fixtures/directory.json'), 'utf8')));
    const summary = await importDirectory(h.db(), file, { replace: true, effects: NO_DIRECTORY_EFFECTS });

    // Made in the portal, not in the file: kept, with their permissions, and listed in one audit row.
    expect(await h.contact('nina@acme.test')).toMatchObject({ source: 'portal', company_role: 'admin' });
    expect((await h.permissions('nina@acme.test')).map((p) => p.key)).toEqual(['acme-dev', 'acme-prod']);
    expect(await h.contact('olga@acme.test')).toMatchObject({ source: 'portal' });
    // mallory is a stranger whose case waits for approval: not a contact at all.
    expect(summary).toMatchObject({ keptContacts: 3, keptPermissions: 3 });
    const kept = await h.db().selectFrom('audit_log').select(['actor', 'channel', 'detail']).where('action', '=', 'replace_kept').executeTakeFirstOrThrow();
    expect(kept).toMatchObject({ actor: 'directory-import', channel: 'import' });
    expect((kept.detail as { contacts: Array<{ email: string }> }).contacts.map((c) => c.email).sort()).toEqual(['nina@acme.test', 'olga@acme.test', 'quinn@acme.test']);

    // The security contact set in the portal: the file does not mention it, so it stays.
    expect(await h.contact('erin@mail.test')).toMatchObject({ security_contact: true, phone: '+1 555 0100' });
    // Bob's change to erin's imported permission: the file says otherwise and wins, with a trace.
    expect((await h.permissions('erin@mail.test'))[0]).toMatchObject({ key: 'acme-prod', cc_all_cases: false });
    const reverted = (await h.audit('erin@mail.test', 'directory-import')).find((a) => a.action === 'permission_changed');
    expect(reverted).toMatchObject({ channel: 'import', detail: { before: { role: 'user', ccAllCases: true }, after: { role: 'user', ccAllCases: false } } });
    // Alice, made admin again in the portal, is an admin in the file too: no change, no row.
    expect((await h.audit('alice@acme.test', 'directory-import')).length).toBe(0);
    // Dave, removed in the portal, is still listed in the file: the import adds him back, and the
    // audit row says that he had been removed in the portal, by whom.
    expect(await h.contact('dave@acme.test')).toMatchObject({ source: 'import' });
    const readded = (await h.audit('dave@acme.test', 'directory-import')).find((a) => a.action === 'member_added');
    expect(readded).toMatchObject({ channel: 'import', detail: { removedInPortal: { by: 'alice@acme.test' } } });
    expect(summary).toMatchObject({ addedContacts: 1, removedContacts: 0, removedPermissions: 0 });
  });
});

describe('security alerts are capped like approval mail', () => {
  let t: TestService;
  const h = team(() => t);
  beforeAll(async () => {
    t = await startTestService({ INBOUND_AUTHSERV_ID: AUTHSERV, APPROVAL_MAIL_PER_HOUR: '3' });
  });
  afterAll(() => t.close());

  it('sends whole rounds up to APPROVAL_MAIL_PER_HOUR per company per hour, then records what it held back', async () => {
    // Two security contacts: every alert is a round of two mails.
    expect(await h.save('alice@acme.test', { email: 'erin@mail.test', securityContact: 'on', phone: '+1 555 0100' })).toMatchObject({ ok: true });
    expect(await h.save('alice@acme.test', { email: 'bob@acme.test', securityContact: 'on', phone: '+1 555 0101' })).toMatchObject({ ok: true });

    const first = await h.save('alice@acme.test', { email: 'dave@acme.test', companyAdmin: 'on' });
    expect(first.ok && first.outboxIds).toHaveLength(2);
    await eventually(async () => h.alerts('bob@acme.test').length === 1 && h.alerts('erin@mail.test').length === 1);

    // 2 + 2 > 3: the next round is held back whole, the change itself is made.
    const second = await h.save('alice@acme.test', { email: 'dave@acme.test' });
    expect(second).toMatchObject({ ok: true, actions: ['company_admin_revoked'], outboxIds: [] });
    expect((await h.contact('dave@acme.test'))!.company_role).toBe('member');
    const ref = await h.mail('carol@acme.test', 'Forged in carol\'s name', false);
    expect((await t.caseIn(ref, 'suspended')).holdReason).toBe('sender_not_verified');

    const capped = await eventually(async () => {
      const rows = await h.db().selectFrom('audit_log').select(['actor', 'channel', 'detail', 'case_id']).where('action', '=', 'security_alert_capped').orderBy('id').execute();
      return rows.length === 2 ? rows : undefined;
    }, 15000, 'two capped alerts');
    expect(capped[0]).toMatchObject({ detail: { event: 'company_admin_revoked', person: 'dave@acme.test', perHour: 3, sentLastHour: 2 } });
    expect(capped[1]).toMatchObject({ detail: { event: 'sender_not_verified', person: 'carol@acme.test' } });
    expect(capped[1]!.case_id).not.toBeNull();
    expect(await h.securityAlertRows()).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.alerts('bob@acme.test')).toHaveLength(1);

    // Approval mail has its own budget: the held case's approval request still went out.
    const approval = await h.db().selectFrom('approvals').select('mail_held').where('requester_email', '=', 'carol@acme.test').executeTakeFirstOrThrow();
    expect(approval.mail_held).toBeNull();
  });
});
