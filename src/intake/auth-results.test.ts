import { senderVerified, trustedAuthResults } from './auth-results';

const msg = (headers: string[]) => Buffer.from(`${headers.join('\r\n')}\r\nFrom: a@b.test\r\n\r\nbody\r\n`);

describe('trustedAuthResults', () => {
  it('reads the topmost header of our own server', () => {
    const raw = msg(['Authentication-Results: mx.support.example.com;\r\n dkim=pass header.d=acme.test;\r\n spf=pass smtp.mailfrom=acme.test;\r\n dmarc=pass (p=reject) header.from=acme.test']);
    expect(trustedAuthResults(raw, 'mx.support.example.com')).toEqual({ dmarc: 'pass', dkim: ['pass'], spf: 'pass', dkimPassDomains: ['acme.test'], spfPassDomain: 'acme.test' });
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

describe('senderVerified', () => {
  const AS = 'mx.support.example.com';
  it('trusts dmarc=pass and refuses dmarc=fail whatever else passed', () => {
    expect(senderVerified(msg([`Authentication-Results: ${AS}; dmarc=pass header.from=acme.test`]), AS, 'bob@acme.test')).toBe(true);
    expect(senderVerified(msg([`Authentication-Results: ${AS}; dkim=pass header.d=acme.test; dmarc=fail header.from=acme.test`]), AS, 'bob@acme.test')).toBe(false);
  });

  it('without DMARC, needs an aligned DKIM signature or SPF pass', () => {
    expect(senderVerified(msg([`Authentication-Results: ${AS}; dkim=pass header.d=mail.acme.test`]), AS, 'bob@acme.test')).toBe(true);
    expect(senderVerified(msg([`Authentication-Results: ${AS}; dkim=pass header.d=bulkmailer.test`]), AS, 'bob@acme.test')).toBe(false);
    expect(senderVerified(msg([`Authentication-Results: ${AS}; spf=pass smtp.mailfrom=bounces@acme.test`]), AS, 'bob@acme.test')).toBe(true);
    expect(senderVerified(msg([`Authentication-Results: ${AS}; spf=pass smtp.mailfrom=evil.test`]), AS, 'bob@acme.test')).toBe(false);
  });

  it('is unverified without a header of ours', () => {
    expect(senderVerified(msg(['Authentication-Results: other.test; dmarc=pass']), AS, 'bob@acme.test')).toBe(false);
  });
});
