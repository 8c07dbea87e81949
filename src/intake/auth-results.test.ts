import { trustedAuthResults } from './auth-results';

const msg = (headers: string[]) => Buffer.from(`${headers.join('\r\n')}\r\nFrom: a@b.test\r\n\r\nbody\r\n`);

describe('trustedAuthResults', () => {
  it('reads the topmost header of our own server', () => {
    const raw = msg(['Authentication-Results: mx.support.example.com;\r\n dkim=pass header.d=acme.test;\r\n spf=pass smtp.mailfrom=acme.test;\r\n dmarc=pass (p=reject) header.from=acme.test']);
    expect(trustedAuthResults(raw, 'mx.support.example.com')).toEqual({ dmarc: 'pass', dkim: ['pass'], spf: 'pass' });
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
