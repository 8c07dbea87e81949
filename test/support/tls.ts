/**
 * Throwaway certificates made with the openssl CLI, for test servers the service must trust the
 * way it trusts a real provider: through a CA it is told about (NODE_EXTRA_CA_CERTS), never by
 * turning verification off.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** A day is plenty for a test run and keeps a leaked key short-lived. */
const VALID_DAYS = '1';

export interface HarnessTls {
  /** The temporary directory holding every file below. */
  dir: string;
  /** The CA certificate's path: what NODE_EXTRA_CA_CERTS (or `ca`) is given. */
  caFile: string;
  caPem: string;
  /** The server certificate (signed by the CA, for IP:127.0.0.1 and DNS:localhost) and its key. */
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
  /** Deletes `dir`. Safe to call more than once. */
  cleanup(): Promise<void>;
}

export interface SelfSignedCertificate {
  certPem: string;
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"). */
  keyPem: string;
}

export async function makeHarnessTls(): Promise<HarnessTls> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'harness-tls-'));
  const file = (name: string) => path.join(dir, name);
  try {
    // EC keys: generated in milliseconds, and every TLS client we use supports P-256.
    await openssl([
      'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', VALID_DAYS,
      '-subj', '/CN=case-intake test harness CA',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await openssl([
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost',
    ]);
    // Clients match the address they dialled against subjectAltName only (CN is ignored), so
    // both names the harness is reached by must be there.
    await writeFile(
      file('server.ext'),
      [
        'subjectAltName = IP:127.0.0.1, DNS:localhost',
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature',
        'extendedKeyUsage = serverAuth',
        'subjectKeyIdentifier = hash',
        'authorityKeyIdentifier = keyid',
        '',
      ].join('\n'),
    );
    await openssl([
      'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
      '-set_serial', `0x${randomSerial()}`, '-days', VALID_DAYS, '-extfile', file('server.ext'),
      '-out', file('server.pem'),
    ]);
    const [caPem, certPem, keyPem] = await Promise.all(['ca.pem', 'server.pem', 'server.key'].map((n) => readFile(file(n), 'utf8')));
    let cleaned = false;
    return {
      dir,
      caFile: file('ca.pem'),
      caPem: caPem!,
      certPem: certPem!,
      keyPem: keyPem!,
      certFile: file('server.pem'),
      keyFile: file('server.key'),
      cleanup: async () => {
        if (cleaned) return;
        cleaned = true;
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A self-signed RSA certificate, as registered on a Microsoft Entra app for client assertions
 * (Entra takes RSA keys only). Made in a temp dir that is gone when this returns.
 */
export async function makeSelfSignedCertificate(commonName: string): Promise<SelfSignedCertificate> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'harness-cert-'));
  try {
    await openssl([
      'req', '-x509', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'),
      '-out', path.join(dir, 'cert.pem'), '-days', VALID_DAYS, '-subj', `/CN=${commonName}`,
    ]);
    const [certPem, keyPem] = await Promise.all([readFile(path.join(dir, 'cert.pem'), 'utf8'), readFile(path.join(dir, 'key.pem'), 'utf8')]);
    return { certPem: certPem!, keyPem: keyPem! };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || (err as Error).message}`);
  }
}

function randomSerial(): string {
  const bytes = randomBytes(8);
  // Serials are positive integers: the top bit stays clear.
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}
