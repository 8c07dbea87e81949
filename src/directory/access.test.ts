import { gainedInfrastructures, infrastructuresOpenTo, NO_ACCESS, opensCases } from './access';

const INFRAS = ['i1', 'i2', 'i3'];

describe('who may open cases on an infrastructure', () => {
  it('a company admin everywhere in the company, anyone else where they hold a permission of any role', () => {
    expect(opensCases('admin', false)).toBe(true);
    expect(opensCases('member', true)).toBe(true);
    expect(opensCases('member', false)).toBe(false);
    expect(opensCases(null, false)).toBe(false);
    expect(infrastructuresOpenTo({ companyRole: 'admin', permitted: new Set() }, INFRAS)).toEqual(INFRAS);
    expect(infrastructuresOpenTo({ companyRole: 'member', permitted: new Set(['i2']) }, INFRAS)).toEqual(['i2']);
    expect(infrastructuresOpenTo(NO_ACCESS, INFRAS)).toEqual([]);
  });

  it('a change admits someone only where they could not open cases before', () => {
    const member = { companyRole: 'member' as const, permitted: new Set(['i1']) };
    expect(gainedInfrastructures(NO_ACCESS, { companyRole: 'member', permitted: new Set() }, INFRAS)).toEqual([]);
    expect(gainedInfrastructures(NO_ACCESS, member, INFRAS)).toEqual(['i1']);
    expect(gainedInfrastructures(member, { companyRole: 'member', permitted: new Set(['i1', 'i3']) }, INFRAS)).toEqual(['i3']);
    expect(gainedInfrastructures(member, { companyRole: 'admin', permitted: new Set(['i1']) }, INFRAS)).toEqual(['i2', 'i3']);
    // A role changed from user to administrator, a revocation, a demotion: nobody is admitted.
    expect(gainedInfrastructures(member, member, INFRAS)).toEqual([]);
    expect(gainedInfrastructures(member, NO_ACCESS, INFRAS)).toEqual([]);
    expect(gainedInfrastructures({ companyRole: 'admin', permitted: new Set() }, member, INFRAS)).toEqual([]);
  });
});
