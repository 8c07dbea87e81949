import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Throwaway credential files for the config's unit tests, in a temp dir: a self-signed RSA
 * certificate and its key (openssl, as an operator makes one for an Entra app), keys that do not
 * fit it, and a Google service account key file. `cleanup()` removes them all.
 */
export interface KeyFiles {
  dir: string;
  certFile: string;
  keyFile: string;
  /** An RSA key that is not the certificate's. */
  otherKeyFile: string;
  /** The certificate's key, encrypted with a passphrase. */
  encryptedKeyFile: string;
  ecCertFile: string;
  ecKeyFile: string;
  serviceAccountFile: string;
  serviceAccount: { client_email: string; private_key: string; private_key_id: string };
  /** Writes `content` to `name` in the dir and returns its path. */
  write(name: string, content: string): string;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

export function makeKeyFiles(): KeyFiles {
  const dir = mkdtempSync(join(tmpdir(), 'case-intake-keys-'));
  const write = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  try {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '30', '-subj', '/CN=case-intake-test'], dir);
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ec-key.pem', '-out', 'ec-cert.pem', '-days', '30', '-subj', '/CN=case-intake-ec'], dir);
    openssl(['pkey', '-in', 'key.pem', '-out', 'key-encrypted.pem', '-aes256', '-passout', 'pass:not-the-point'], dir);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const saKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const serviceAccount = { client_email: 'intake@case-intake-test.iam.gserviceaccount.com', private_key: saKey, private_key_id: '0123456789abcdef0123456789abcdef01234567' };
    const serviceAccountFile = write('service-account.json', JSON.stringify({ type: 'service_account', project_id: 'case-intake-test', client_id: '1234567890', token_uri: 'https://oauth2.googleapis.com/token', ...serviceAccount }));
    return {
      dir,
      certFile: join(dir, 'cert.pem'),
      keyFile: join(dir, 'key.pem'),
      otherKeyFile: write('other-key.pem', other),
      encryptedKeyFile: join(dir, 'key-encrypted.pem'),
      ecCertFile: join(dir, 'ec-cert.pem'),
      ecKeyFile: join(dir, 'ec-key.pem'),
      serviceAccountFile,
      serviceAccount,
      write,
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
