import { replyHold } from './threading';

describe('replyHold', () => {
  it('holds a reply only when the receiving server was asked and did not vouch for its sender', () => {
    expect(replyHold(false)).toBe('reply_not_verified');
    expect(replyHold(true)).toBeNull();
    // INBOUND_AUTHSERV_ID unset: the From address is trusted, as for a new case.
    expect(replyHold(null)).toBeNull();
  });
});
