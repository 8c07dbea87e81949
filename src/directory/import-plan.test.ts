import type { ContactRow, PermissionRow } from './changes';
import { parseDirectoryFile } from './file-format';
import { planCompanyImport, type CompanyImportState } from './import-plan';

const contact = (email: string, over: Partial<ContactRow> = {}): ContactRow => ({ id: `k-${email}`, email, name: email.split('@')[0]!, company_role: 'member', status: 'active', source: 'import', security_contact: false, phone: null, ...over });
const permission = (email: string, over: Partial<PermissionRow> = {}): PermissionRow => ({
  infrastructure_id: 'i1', contact_id: `k-${email}`, role: 'user', cc_all_cases: false, source: 'import', granted_by: null, granted_via: null, infrastructure_key: 'prod', email, ...over,
});
const entry = (contacts: Array<Record<string, unknown>>, permissions: Array<Record<string, unknown>>) =>
  parseDirectoryFile({ companies: [{ key: 'acme', name: 'Acme', contacts, infrastructures: [{ key: 'prod', name: 'Production', permissions }] }] }).companies[0]!;
const state = (over: Partial<CompanyImportState> = {}): CompanyImportState => ({ known: true, infrastructureIds: new Map([['prod', 'i1']]), contacts: [], permissions: [], removedInPortal: new Map(), ...over });

describe('planCompanyImport', () => {
  it('on a company’s first import adds everything without audit rows; later additions are audited', () => {
    const e = entry([{ email: 'ann@acme.test' }], [{ email: 'ann@acme.test', role: 'user' }]);
    const first = planCompanyImport(state({ known: false }), e, false);
    expect(first.changes.map((c) => [c.kind, c.notes.length])).toEqual([['add_contact', 0], ['grant', 0]]);
    expect(first.counts).toMatchObject({ contacts: 1, permissions: 1, addedContacts: 0, addedPermissions: 0 });
    const removedInPortal = new Map([['ann@acme.test', { by: 'alice@acme.test', at: new Date(0) }]]);
    const later = planCompanyImport(state({ removedInPortal }), e, false);
    expect(later.changes[0]).toMatchObject({ kind: 'add_contact', source: 'import', notes: [{ action: 'member_added', detail: { removedInPortal: { by: 'alice@acme.test' } } }] });
    expect(later.changes[1]).toMatchObject({ kind: 'grant', origin: { source: 'import' }, notes: [{ action: 'permission_granted' }] });
    expect(later.counts).toMatchObject({ addedContacts: 1, addedPermissions: 1 });
  });

  it('keeps what the file leaves out, keeps an active contact active, and changes only what differs', () => {
    const s = state({ contacts: [contact('ann@acme.test', { name: 'Ann Portal', security_contact: true, phone: '+1 555 0100' })], permissions: [permission('ann@acme.test')] });
    const same = planCompanyImport(s, entry([{ email: 'ann@acme.test', status: 'pending' }], [{ email: 'ann@acme.test', role: 'user' }]), false);
    expect(same.changes).toEqual([]);
    const changed = planCompanyImport(s, entry([{ email: 'ann@acme.test', companyRole: 'admin' }], [{ email: 'ann@acme.test', role: 'administrator', ccAllCases: true }]), false);
    expect(changed.changes).toEqual([
      expect.objectContaining({ kind: 'update_contact', values: { name: 'Ann Portal', companyRole: 'admin', status: 'active', securityContact: true, phone: '+1 555 0100' }, notes: [expect.objectContaining({ detail: expect.objectContaining({ fields: ['companyRole'] }) })] }),
      expect.objectContaining({ kind: 'change_permission', values: { role: 'administrator', ccAllCases: true } }),
    ]);
    expect(changed.counts).toMatchObject({ changedContacts: 1, changedPermissions: 1 });
  });

  it('--replace removes what the file no longer lists, keeps what the portal or an approval made, and drops a dropped contact’s permissions whatever made them', () => {
    const s = state({
      contacts: [contact('ann@acme.test'), contact('bo@acme.test'), contact('cy@acme.test', { source: 'portal' })],
      permissions: [permission('ann@acme.test', { source: 'approval' }), permission('bo@acme.test', { source: 'portal' }), permission('cy@acme.test', { source: 'portal' })],
    });
    const plan = planCompanyImport(s, entry([{ email: 'ann@acme.test' }], []), true);
    expect(plan.changes.map((c) => [c.kind, c.email])).toEqual([
      ['revoke', 'bo@acme.test'],
      ['remove_contact', 'bo@acme.test'],
      ['note', null],
    ]);
    expect(plan.changes[2]!.notes[0]).toMatchObject({ action: 'replace_kept', detail: { contacts: [{ email: 'cy@acme.test', source: 'portal' }], permissions: [{ email: 'ann@acme.test', source: 'approval' }, { email: 'cy@acme.test', source: 'portal' }] } });
    expect(plan.counts).toMatchObject({ removedContacts: 1, removedPermissions: 1, keptContacts: 1, keptPermissions: 2 });
    expect(planCompanyImport(s, entry([{ email: 'ann@acme.test' }], []), false).changes).toEqual([]);
  });
});
