import { makeKeyFiles, type KeyFiles } from '../../test/support/key-files';
import { readCertificatePair } from './credential-files';

let keys: KeyFiles;
beforeAll(() => (keys = makeKeyFiles()));
afterAll(() => keys?.cleanup());

describe('readCertificatePair', () => {
  it('refuses a certificate past its end date, which Microsoft would refuse too', () => {
    const cert = { path: keys.certFile, label: 'OAUTH_CLIENT_CERT_FILE' };
    const key = { path: keys.keyFile, label: 'OAUTH_CLIENT_KEY_FILE' };
    const now: string[] = [];
    expect(readCertificatePair(cert, key, now)).not.toBeNull();
    expect(now).toEqual([]);
    // The test certificate lasts 30 days.
    const later: string[] = [];
    expect(readCertificatePair(cert, key, later, new Date(Date.now() + 31 * 86_400_000))).toBeNull();
    expect(later).toEqual([expect.stringMatching(new RegExp(`^OAUTH_CLIENT_CERT_FILE: the certificate in ${keys.certFile} expired on \\d{4}-\\d\\d-\\d\\d; create a new one`))]);
  });
});
