import { verifySender, trustedAuthResults } from './auth-results';

const msg = (headers: string[]) => Buffer.from(`${headers.join('\r\n')}\r\nFrom: a@b.test\r\n\r\nbody\r\n`);

describe('trustedAuthResults', () => {
  it('reads the topmost header of our own server', () => {
    const raw = msg(['Authentication-Results: mx.support.example.com;\r\n dkim=pass header.d=acme.test;\r\n spf=pass smtp.mailfrom=acme.test;\r\n dmarc=pass (p=reject) header.from=acme.test']);
    expect(trustedAuthResults(raw, 'mx.support.example.com')).toEqual({ dmarc: 'pass', dmarcResults: [{ result: 'pass', headerFrom: 'acme.test' }], dkim: ['pass'], spf: 'pass', dkimPassDomains: ['acme.test'], spfPassDomain: 'acme.test' });
  });

  it('ignores headers from other servers, and a forged one below ours', () => {
    const raw = msg([
      'Authentication-Results: mx.support.example.com; dmarc=fail header.from=acme.test',
      'Authentication-Results: mx.support.example.com; dmarc=pass header.from=acme.test',
      'Authentication-Results: evil.test; dmarc=pass',
    ]);
    expect(trustedAuthResults(raw, 'mx.support.example.com')?.dmarc).toBe('fail');
    expect(trustedAuthResults(msg(['Authentication-Results: evil.test; dmarc=pass']), 'mx.support.example.com')).toBeNull();
  });

  it('does not read a header from the body', () => {
    const raw = Buffer.from('From: a@b.test\r\n\r\nAuthentication-Results: mx.support.example.com; dmarc=pass\r\n');
    expect(trustedAuthResults(raw, 'mx.support.example.com')).toBeNull();
  });
});

describe('verifySender', () => {
  const AS = 'mx.support.example.com';
  const verified = (raw: Buffer, authservId: string, email: string) => verifySender(raw, authservId, email).verified;
  it('trusts dmarc=pass and refuses dmarc=fail whatever else passed', () => {
    expect(verified(msg([`Authentication-Results: ${AS}; dmarc=pass header.from=acme.test`]), AS, 'bob@acme.test')).toBe(true);
    expect(verified(msg([`Authentication-Results: ${AS}; dkim=pass header.d=acme.test; dmarc=fail header.from=acme.test`]), AS, 'bob@acme.test')).toBe(false);
  });

  it('without DMARC, needs an aligned DKIM signature or SPF pass', () => {
    expect(verified(msg([`Authentication-Results: ${AS}; dkim=pass header.d=mail.acme.test`]), AS, 'bob@acme.test')).toBe(true);
    expect(verified(msg([`Authentication-Results: ${AS}; dkim=pass header.d=bulkmailer.test`]), AS, 'bob@acme.test')).toBe(false);
    expect(verified(msg([`Authentication-Results: ${AS}; spf=pass smtp.mailfrom=bounces@acme.test`]), AS, 'bob@acme.test')).toBe(true);
    expect(verified(msg([`Authentication-Results: ${AS}; spf=pass smtp.mailfrom=evil.test`]), AS, 'bob@acme.test')).toBe(false);
  });

  it('is unverified without a header of ours', () => {
    expect(verified(msg(['Authentication-Results: other.test; dmarc=pass']), AS, 'bob@acme.test')).toBe(false);
  });

  it('counts a DMARC pass only for the domain it was evaluated on (header.from)', () => {
    // From: mallory@evil.test, carol@acme.test with Sender: carol: the pass speaks for evil.test.
    const forEvil = msg([`Authentication-Results: ${AS}; dkim=pass header.d=evil.test; dmarc=pass header.from=evil.test`]);
    expect(verifySender(forEvil, AS, 'carol@acme.test')).toEqual({ verified: false, why: 'dmarc=pass header.from=evil.test, not acme.test' });
    expect(verified(forEvil, AS, 'mallory@evil.test')).toBe(true);
    expect(verified(msg([`Authentication-Results: ${AS}; dmarc=pass`]), AS, 'carol@acme.test')).toBe(false);
    expect(verified(msg([`Authentication-Results: ${AS}; dmarc=pass header.from=mail.acme.test`]), AS, 'carol@acme.test')).toBe(false);
    expect(verified(msg([`Authentication-Results: ${AS}; dmarc=pass header.from=ACME.test`]), AS, 'carol@acme.test')).toBe(true);
  });

  it('with a result for each From domain, needs a pass for the address used and no failure for it', () => {
    const both = (evil: string, acme: string) => msg([`Authentication-Results: ${AS}; dmarc=${evil} header.from=evil.test; dmarc=${acme} header.from=acme.test`]);
    expect(verified(both('pass', 'pass'), AS, 'carol@acme.test')).toBe(true);
    expect(verifySender(both('pass', 'fail'), AS, 'carol@acme.test')).toEqual({ verified: false, why: 'dmarc=fail header.from=acme.test' });
    expect(verified(both('fail', 'pass'), AS, 'carol@acme.test')).toBe(true);
  });
});
