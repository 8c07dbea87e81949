import { caseFromReplyAddress, caseReplyAddress, referenceTag } from './reply-address';

const SECRET = 's'.repeat(32);
const SUPPORT = 'support@support.example.com';

describe('case reply addresses', () => {
  it('round-trips, survives upper-casing, and stays a short local part', () => {
    const address = caseReplyAddress('123456', SECRET, SUPPORT);
    expect(address).toMatch(/^support\+case-[0-9a-z]+-[a-z2-7]{16}@support\.example\.com$/);
    expect(address.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(caseFromReplyAddress(address.toUpperCase(), [SECRET], SUPPORT)).toBe('123456');
  });

  it('refuses a guessed case number, another secret, or another domain', () => {
    const address = caseReplyAddress('41', SECRET, SUPPORT);
    const guessed = address.replace('+case-15-', '+case-16-');
    expect(caseFromReplyAddress(guessed, [SECRET], SUPPORT)).toBeNull();
    expect(caseFromReplyAddress(address, ['x'.repeat(32)], SUPPORT)).toBeNull();
    expect(caseFromReplyAddress(address.replace('support.example.com', 'evil.test'), [SECRET], SUPPORT)).toBeNull();
    expect(caseFromReplyAddress(SUPPORT, [SECRET], SUPPORT)).toBeNull();
  });
});

describe('referenceTag', () => {
  it('finds the tag anywhere in the subject', () => {
    expect(referenceTag('Re: [CASE-000123] Printer on fire')).toBe('CASE-000123');
    expect(referenceTag('AW: Re: [case-1234567] x')).toBe('CASE-1234567');
    expect(referenceTag('CASE-000123 without brackets')).toBeNull();
  });
});
