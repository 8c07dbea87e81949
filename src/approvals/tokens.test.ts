import { replyAddressFor, signApprovalToken, tokenFromReplyAddress, verifyApprovalToken } from './tokens';

const SECRET = 'a'.repeat(32);
const OLD = 'b'.repeat(32);
const claims = { approvalId: '123456', approverId: '42', expiresAt: 2_000_000_000 };
const now = 1_900_000_000;

describe('approval tokens', () => {
  it('round-trips and stays short and lower-case', () => {
    const token = signApprovalToken(SECRET, claims);
    expect(token).toMatch(/^[0-9a-z.]+$/);
    expect(verifyApprovalToken(token, [SECRET], now)).toEqual({ ok: true, claims });
    expect(replyAddressFor(token, 'support@support.example.com').split('@')[0]!.length).toBeLessThanOrEqual(64);
  });

  it('survives a mail server upper-casing the address', () => {
    expect(verifyApprovalToken(signApprovalToken(SECRET, claims).toUpperCase(), [SECRET], now).ok).toBe(true);
  });

  it('refuses a tampered token: another approval, approver or expiry, or another signature', () => {
    const token = signApprovalToken(SECRET, claims);
    const [a, p, e, s] = token.split('.') as [string, string, string, string];
    for (const forged of [`${a}1.${p}.${e}.${s}`, `${a}.${p}1.${e}.${s}`, `${a}.${p}.${e}z.${s}`, `${a}.${p}.${e}.${s.slice(0, -1)}${s.endsWith('a') ? 'b' : 'a'}`]) {
      expect(verifyApprovalToken(forged, [SECRET], now)).toMatchObject({ ok: false });
    }
    expect(verifyApprovalToken('nonsense', [SECRET], now)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyApprovalToken(token, [OLD], now)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('says expired only for a genuine token past its expiry', () => {
    const token = signApprovalToken(SECRET, claims);
    expect(verifyApprovalToken(token, [SECRET], claims.expiresAt)).toEqual({ ok: false, reason: 'expired' });
  });

  it('accepts tokens signed with the previous secret during a rotation', () => {
    const token = signApprovalToken(OLD, claims);
    expect(verifyApprovalToken(token, [SECRET, OLD], now).ok).toBe(true);
    expect(verifyApprovalToken(token, [SECRET, null], now).ok).toBe(false);
  });

  it('finds the token in a plus-address of the support mailbox only', () => {
    expect(tokenFromReplyAddress('Support+Approve-abc.def@Support.Example.com', 'support@support.example.com')).toBe('abc.def');
    expect(tokenFromReplyAddress('support+approve-abc@elsewhere.test', 'support@support.example.com')).toBeNull();
    expect(tokenFromReplyAddress('support@support.example.com', 'support@support.example.com')).toBeNull();
  });
});
