import type { PortalPerson } from './people';
import { mayEscalate, offersEscalation, type EscalatableCase } from './visibility';

const acme = { companyId: '1', companyKey: 'acme', companyName: 'Acme', name: null };
const person = (email: string, over: Partial<PortalPerson> = {}): PortalPerson => ({
  email,
  memberships: [{ ...acme, contactId: '10', companyRole: 'member', status: 'active' }],
  grants: [],
  participant: false,
  ...over,
});
const prodGrant = (role: 'administrator' | 'user') => ({ infrastructureId: '5', infrastructureKey: 'acme-prod', infrastructureName: 'Prod', companyId: '1', role });

const requester = person('erin@acme.test', { grants: [prodGrant('user')] });
const companyAdmin = person('alice@acme.test', { memberships: [{ ...acme, contactId: '11', companyRole: 'admin', status: 'active' }] });
const administrator = person('bob@acme.test', { grants: [prodGrant('administrator')] });
const plainMember = person('dave@acme.test', { grants: [prodGrant('user')], participant: true });
const outsider = person('pat@partner.test', { memberships: [], participant: true });

const open: EscalatableCase = { status: 'open', requesterEmail: 'Erin@acme.test', companyKey: 'acme', infrastructureKey: 'acme-prod', escalatedAt: null };

describe('mayEscalate', () => {
  it('lets the requester, an administrator of the case’s infrastructure and an admin of its company', () => {
    expect(mayEscalate(requester, open)).toBe(true);
    expect(mayEscalate({ ...requester, email: ' ERIN@acme.test' }, open)).toBe(true);
    expect(mayEscalate(administrator, open)).toBe(true);
    expect(mayEscalate(companyAdmin, open)).toBe(true);
  });

  it('refuses anyone else who may see the case: a plain member, a participant from outside, a user of the infrastructure', () => {
    expect(mayEscalate(plainMember, open)).toBe(false);
    expect(mayEscalate(outsider, open)).toBe(false);
    expect(mayEscalate(person('carol@acme.test', { grants: [prodGrant('user')] }), open)).toBe(false);
  });

  it('counts roles only where they are: another infrastructure or company, a pending contact, an unrouted case', () => {
    expect(mayEscalate(administrator, { ...open, infrastructureKey: 'acme-dev' })).toBe(false);
    expect(mayEscalate(administrator, { ...open, companyKey: 'globex' })).toBe(false);
    expect(mayEscalate(companyAdmin, { ...open, companyKey: 'globex', infrastructureKey: 'globex-main' })).toBe(false);
    expect(mayEscalate({ ...companyAdmin, memberships: [{ ...companyAdmin.memberships[0]!, status: 'pending' }] }, open)).toBe(false);
    expect(mayEscalate({ ...administrator, memberships: [{ ...administrator.memberships[0]!, status: 'pending' }] }, open)).toBe(false);
    expect(mayEscalate(companyAdmin, { ...open, companyKey: null, infrastructureKey: null })).toBe(false);
    // The requester asks for their own case wherever it landed.
    expect(mayEscalate(requester, { ...open, companyKey: null, infrastructureKey: null })).toBe(true);
  });
});

describe('offersEscalation', () => {
  it('offers the form on an open or pending case not yet escalated, to those who may', () => {
    expect(offersEscalation(requester, open)).toBe(true);
    expect(offersEscalation(administrator, { ...open, status: 'pending' })).toBe(true);
    expect(offersEscalation(plainMember, open)).toBe(false);
  });

  it('does not offer it on an escalated, resolved, held or undecided case', () => {
    expect(offersEscalation(requester, { ...open, escalatedAt: '2026-12-01T10:00:00.000Z' })).toBe(false);
    for (const status of ['solved', 'closed', 'suspended', 'ignored', 'new'] as const) {
      expect([status, offersEscalation(companyAdmin, { ...open, status })]).toEqual([status, false]);
    }
  });
});
