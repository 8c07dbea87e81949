import { decide, routeMessage, type SenderFacts } from './matching';

const none: SenderFacts = { addressedInfrastructures: [], contacts: [], permissions: [], domainCompanies: [], defaultInfrastructure: {} };
const facts = (f: Partial<SenderFacts>): SenderFacts => ({ ...none, ...f });

describe('routeMessage', () => {
  it('prefers an infrastructure address among the recipients over everything else', () => {
    const route = routeMessage(
      facts({
        addressedInfrastructures: [{ infrastructureId: 'i2', companyId: 'c1' }, { infrastructureId: 'i3', companyId: 'c2' }],
        permissions: [{ infrastructureId: 'i1', companyId: 'c1', role: 'user', isDefault: true }],
      }),
    );
    expect(route).toEqual({ infrastructureId: 'i2', companyId: 'c1', rule: 'recipient' });
  });

  it('uses the one infrastructure the sender has a permission on', () => {
    expect(routeMessage(facts({ permissions: [{ infrastructureId: 'i1', companyId: 'c1', role: 'user', isDefault: false }] }))).toEqual({
      infrastructureId: 'i1',
      companyId: 'c1',
      rule: 'permission',
    });
  });

  it('picks the company default among several permitted infrastructures', () => {
    const route = routeMessage(
      facts({
        permissions: [
          { infrastructureId: 'i1', companyId: 'c1', role: 'user', isDefault: false },
          { infrastructureId: 'i2', companyId: 'c1', role: 'administrator', isDefault: true },
        ],
      }),
    );
    expect(route?.infrastructureId).toBe('i2');
  });

  it('falls through to the domain when several permitted infrastructures have no default', () => {
    const route = routeMessage(
      facts({
        permissions: [
          { infrastructureId: 'i1', companyId: 'c1', role: 'user', isDefault: false },
          { infrastructureId: 'i2', companyId: 'c1', role: 'user', isDefault: false },
        ],
        domainCompanies: ['c1'],
        defaultInfrastructure: { c1: 'i3' },
      }),
    );
    expect(route).toEqual({ infrastructureId: 'i3', companyId: 'c1', rule: 'domain' });
  });

  it("routes a contact without permissions to their company's default", () => {
    const route = routeMessage(facts({ contacts: [{ companyId: 'c1', companyRole: 'admin' }], defaultInfrastructure: { c1: 'i9' } }));
    expect(route).toEqual({ infrastructureId: 'i9', companyId: 'c1', rule: 'contact_company' });
  });

  it('routes by domain only when exactly one company claims it', () => {
    expect(routeMessage(facts({ domainCompanies: ['c1', 'c2'], defaultInfrastructure: { c1: 'i1', c2: 'i2' } }))).toBeNull();
    expect(routeMessage(facts({ domainCompanies: ['c1'], defaultInfrastructure: {} }))).toBeNull();
  });
});

describe('decide', () => {
  const prod = { infrastructureId: 'i1', companyId: 'c1' };

  it('opens for a company admin on any infrastructure of the company', () => {
    const d = decide(facts({ addressedInfrastructures: [prod], contacts: [{ companyId: 'c1', companyRole: 'admin' }] }));
    expect(d.status).toBe('open');
  });

  it('opens for a contact with a permission on the routed infrastructure', () => {
    const d = decide(facts({ contacts: [{ companyId: 'c1', companyRole: 'member' }], permissions: [{ ...prod, role: 'user', isDefault: true }] }));
    expect(d).toEqual({ status: 'open', route: { ...prod, rule: 'permission' } });
  });

  it('holds a contact whose permission is on another infrastructure as not_permitted', () => {
    const d = decide(
      facts({
        addressedInfrastructures: [{ infrastructureId: 'i2', companyId: 'c1' }],
        contacts: [{ companyId: 'c1', companyRole: 'member' }],
        permissions: [{ ...prod, role: 'administrator', isDefault: true }],
      }),
    );
    expect(d).toMatchObject({ status: 'suspended', holdReason: 'not_permitted' });
  });

  it("holds an admin of another company as unknown_sender on this company's infrastructure", () => {
    const d = decide(facts({ addressedInfrastructures: [prod], contacts: [{ companyId: 'c2', companyRole: 'admin' }] }));
    expect(d).toMatchObject({ status: 'suspended', holdReason: 'unknown_sender' });
  });

  it('holds an unroutable message as unrouted, keeping the company when it is known', () => {
    expect(decide(facts({}))).toEqual({ status: 'suspended', holdReason: 'unrouted', route: null, companyId: null });
    expect(decide(facts({ domainCompanies: ['c3'] }))).toMatchObject({ holdReason: 'unrouted', companyId: 'c3' });
  });
});
