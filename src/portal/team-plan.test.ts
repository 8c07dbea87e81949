import type { ContactRow, PermissionRow } from '../directory/changes';
import type { MemberForm } from './team-form';
import { planMemberRemoval, planMemberSave, type MemberPlan, type TeamState } from './team-plan';

const company = { id: 'c1', key: 'acme', name: 'Acme' };
const infrastructures = [
  { id: 'i1', key: 'prod', name: 'Production' },
  { id: 'i2', key: 'dev', name: 'Development' },
];
const contact = (over: Partial<ContactRow> = {}): ContactRow => ({ id: 'k1', email: 'dana@acme.test', name: 'Dana', company_role: 'member', status: 'active', source: 'import', security_contact: false, phone: null, ...over });
const permission = (infra: { id: string; key: string }, over: Partial<PermissionRow> = {}): PermissionRow => ({
  infrastructure_id: infra.id, contact_id: 'k1', role: 'user', cc_all_cases: false, source: 'import', granted_by: null, granted_via: null, infrastructure_key: infra.key, email: 'dana@acme.test', ...over,
});
const companyAdmin = { companyAdmin: true, administered: new Set<string>(), member: true };
const prodAdministrator = { companyAdmin: false, administered: new Set(['i1']), member: true };
const state = (over: Partial<TeamState> = {}): TeamState => ({ company, infrastructures, auth: companyAdmin, actorEmail: 'alice@acme.test', existing: undefined, permissions: [], otherActiveAdmins: 1, ...over });
const form = (over: Partial<MemberForm> = {}): MemberForm => ({ email: 'dana@acme.test', companyAdmin: false, securityContact: false, permissions: {}, ...over });
const ok = (plan: MemberPlan) => {
  if (!plan.ok) throw new Error(`refused: ${plan.message}`);
  return plan;
};

describe('planMemberSave', () => {
  it('adds a pending portal contact with portal permissions, and invites them saying truthfully whether they may open cases', () => {
    const plan = ok(planMemberSave(state(), form({ name: 'Dana', permissions: { prod: { role: 'user', ccAllCases: true }, dev: { role: 'none', ccAllCases: false } } }), true));
    expect(plan.changes.map((c) => c.kind)).toEqual(['add_contact', 'grant']);
    expect(plan.changes[0]).toMatchObject({ kind: 'add_contact', source: 'portal', values: { status: 'pending', companyRole: 'member' }, notes: [{ action: 'member_added' }] });
    expect(plan.changes[1]).toMatchObject({ kind: 'grant', infrastructureId: 'i1', values: { role: 'user', ccAllCases: true }, origin: { source: 'portal', grantedBy: 'alice@acme.test', grantedVia: 'portal' } });
    expect(plan.invite).toEqual({ mayOpenCases: true });

    expect(ok(planMemberSave(state(), form({ name: 'Dana', permissions: { prod: { role: 'none', ccAllCases: false } } }), true)).invite).toEqual({ mayOpenCases: false });
    const admin = ok(planMemberSave(state(), form({ name: 'Dana', companyAdmin: true }), true));
    expect(admin.invite).toEqual({ mayOpenCases: true });
    expect(admin.events).toEqual(['company_admin_granted']);
  });

  it('refuses what the form may not do, whole', () => {
    expect(planMemberSave(state(), form({ permissions: { nope: { role: 'user', ccAllCases: false } } }), false)).toMatchObject({ ok: false, reason: 'invalid_input' });
    expect(planMemberSave(state({ existing: contact() }), form({ name: 'Dana' }), true)).toMatchObject({ ok: false, reason: 'already_member' });
    expect(planMemberSave(state(), form(), false)).toMatchObject({ ok: false, reason: 'not_found' });
    expect(planMemberSave(state(), form(), true)).toMatchObject({ ok: false, reason: 'invalid_input' });
    const administrator = state({ auth: prodAdministrator, existing: contact(), permissions: [permission(infrastructures[0]!)] });
    expect(planMemberSave(administrator, form({ permissions: { prod: { role: 'administrator', ccAllCases: false }, dev: { role: 'user', ccAllCases: false } } }), false)).toMatchObject({ ok: false, reason: 'forbidden' });
    expect(planMemberSave(administrator, form({ companyAdmin: true }), false)).toMatchObject({ ok: false, reason: 'forbidden' });
    expect(planMemberSave(administrator, form({ name: 'Renamed' }), false)).toMatchObject({ ok: false, reason: 'forbidden' });
    expect(planMemberSave(state({ auth: prodAdministrator }), form({ name: 'New' }), true)).toMatchObject({ ok: false, reason: 'forbidden' });
    expect(planMemberSave(state({ existing: contact({ company_role: 'admin' }), otherActiveAdmins: 0 }), form(), false)).toMatchObject({ ok: false, reason: 'last_admin' });
  });

  it('lets an infrastructure administrator change the security contact only of contacts on an infrastructure they administer', () => {
    const onDev = state({ auth: prodAdministrator, existing: contact({ security_contact: true, phone: '+1 555 0100' }), permissions: [permission(infrastructures[1]!)] });
    expect(planMemberSave(onDev, form({ securityContact: false }), false)).toMatchObject({ ok: false, reason: 'forbidden' });
    // Posted back unchanged: fine.
    expect(ok(planMemberSave(onDev, form({ securityContact: true }), false)).changes).toEqual([]);
    const onProd = state({ auth: prodAdministrator, existing: contact({ security_contact: true, phone: '+1 555 0100' }), permissions: [permission(infrastructures[0]!)] });
    expect(ok(planMemberSave(onProd, form({ securityContact: false }), false)).changes).toEqual([
      expect.objectContaining({ kind: 'update_contact', values: expect.objectContaining({ securityContact: false }), notes: [expect.objectContaining({ action: 'security_contact_set' })] }),
    ]);
    // Someone they add (with a role on their infrastructure) they may name at once.
    expect(ok(planMemberSave(state({ auth: prodAdministrator }), form({ name: 'New', securityContact: true, phone: '+1 555 0101', permissions: { prod: { role: 'user', ccAllCases: false } } }), true)).changes[0]).toMatchObject({ values: { securityContact: true } });
  });

  it('edits only what changed, keeping a permission’s source', () => {
    const s = state({ existing: contact(), permissions: [permission(infrastructures[0]!)] });
    const plan = ok(planMemberSave(s, form({ name: 'Dana', permissions: { prod: { role: 'administrator', ccAllCases: false }, dev: { role: 'none', ccAllCases: false } } }), false));
    expect(plan.changes).toEqual([{ kind: 'change_permission', email: 'dana@acme.test', infrastructureId: 'i1', values: { role: 'administrator', ccAllCases: false }, notes: [expect.objectContaining({ action: 'permission_changed' })] }]);
    expect(plan.invite).toBeNull();
  });
});

describe('planMemberRemoval', () => {
  it('removes the contact with an audit row per permission, for company admins, never the last admin', () => {
    const s = state({ existing: contact(), permissions: [permission(infrastructures[0]!)] });
    const plan = ok(planMemberRemoval(s, 'dana@acme.test'));
    expect(plan.changes).toEqual([{ kind: 'remove_contact', email: 'dana@acme.test', notes: [expect.objectContaining({ action: 'permission_revoked', infrastructureId: 'i1' }), expect.objectContaining({ action: 'member_removed' })] }]);
    expect(plan.events).toEqual(['member_removed']);
    expect(planMemberRemoval(state({ auth: prodAdministrator, existing: contact() }), 'dana@acme.test')).toMatchObject({ ok: false, reason: 'forbidden' });
    expect(planMemberRemoval(state(), 'dana@acme.test')).toMatchObject({ ok: false, reason: 'not_found' });
    expect(planMemberRemoval(state({ existing: contact({ company_role: 'admin' }), otherActiveAdmins: 0 }), 'dana@acme.test')).toMatchObject({ ok: false, reason: 'last_admin' });
  });
});
