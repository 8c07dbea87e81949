import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * The key files an OAuth credential names, read once at start. Each problem names the setting
 * (`label`) and the file's path, never a byte of its content: these files hold private keys.
 */

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory, not a file',
};

/** A file's text, or null after saying, by `label` and path, why it cannot be read. */
export function readText(path: string, label: string, problems: string[]): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    problems.push(`${label}: cannot read ${path} (${READ_ERRORS[code] ?? code})`);
    return null;
  }
}

/** A key node:crypto can sign with, or null: the caller says why in its own words (crypto's may quote input). */
function privateKeyOf(pem: string): KeyObject | null {
  try {
    return createPrivateKey(pem);
  } catch {
    return null;
  }
}

export interface ServiceAccountKey {
  clientEmail: string;
  privateKeyPem: string;
  privateKeyId: string | null;
}

/** A Google service account's JSON key file (type "service_account", client_email, private_key, private_key_id). */
export function readServiceAccountFile(path: string, label: string, problems: string[]): ServiceAccountKey | null {
  const text = readText(path, label, problems);
  if (text === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    problems.push(`${label}: ${path} is not JSON; expected a service account's JSON key, as the Google Cloud console downloads it`);
    return null;
  }
  const o = (json && typeof json === 'object' && !Array.isArray(json) ? json : {}) as Record<string, unknown>;
  if (o.type !== 'service_account') {
    // The type is a keyword, safe to name; anything else in the file may be a secret.
    const type = typeof o.type === 'string' && /^[a-z_]{1,40}$/.test(o.type) ? `"${o.type}"` : 'missing';
    problems.push(`${label}: ${path} is not a service account key (its "type" is ${type}, expected "service_account")`);
    return null;
  }
  const missing = ['client_email', 'private_key'].filter((field) => typeof o[field] !== 'string' || !o[field]);
  if (missing.length) {
    problems.push(`${label}: ${path} lacks ${missing.join(' and ')}; download a new JSON key for the service account`);
    return null;
  }
  const key = privateKeyOf(o.private_key as string);
  if (!key || key.asymmetricKeyType !== 'rsa') {
    problems.push(`${label}: the private_key in ${path} is not a readable RSA private key; download a new JSON key for the service account`);
    return null;
  }
  return {
    clientEmail: o.client_email as string,
    privateKeyPem: o.private_key as string,
    privateKeyId: typeof o.private_key_id === 'string' && o.private_key_id ? o.private_key_id : null,
  };
}

export interface CertificatePair {
  certificatePem: string;
  privateKeyPem: string;
}

function readCertificate(path: string, label: string, problems: string[], now: Date): X509Certificate | null {
  const text = readText(path, label, problems);
  if (text === null) return null;
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(`${label}: ${path} holds no PEM certificate (a -----BEGIN CERTIFICATE----- block)`);
    return null;
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(text);
  } catch {
    problems.push(`${label}: the certificate in ${path} cannot be read (damaged PEM)`);
    return null;
  }
  if (new Date(cert.validTo) < now) {
    problems.push(`${label}: the certificate in ${path} expired on ${new Date(cert.validTo).toISOString().slice(0, 10)}; create a new one and register it on the app`);
    return null;
  }
  return cert;
}

function readPrivateKey(path: string, label: string, problems: string[]): KeyObject | null {
  const text = readText(path, label, problems);
  if (text === null) return null;
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
    problems.push(`${label}: the key in ${path} is protected by a passphrase; give it unencrypted (openssl pkey -in <key> -out <plain key>) and protect the file instead`);
    return null;
  }
  if (!/-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(text)) {
    problems.push(`${label}: ${path} holds no PEM private key (a -----BEGIN PRIVATE KEY----- block)`);
    return null;
  }
  const key = privateKeyOf(text);
  if (!key) {
    problems.push(`${label}: the private key in ${path} cannot be read (damaged PEM)`);
    return null;
  }
  if (key.asymmetricKeyType !== 'rsa') {
    problems.push(`${label}: the key in ${path} is ${key.asymmetricKeyType ?? 'not RSA'}; Microsoft accepts only RSA certificates for app credentials`);
    return null;
  }
  return key;
}

/** A certificate registered on a Microsoft app and its private key: both readable, and the key the certificate's. */
export function readCertificatePair(
  cert: { path: string; label: string },
  key: { path: string; label: string },
  problems: string[],
  now = new Date(),
): CertificatePair | null {
  const certificate = readCertificate(cert.path, cert.label, problems, now);
  const privateKey = readPrivateKey(key.path, key.label, problems);
  if (!certificate || !privateKey) return null;
  let matches = false;
  try {
    matches = certificate.checkPrivateKey(privateKey);
  } catch {
    // A key of another type than the certificate's: not its key either.
  }
  if (!matches) {
    problems.push(`${key.label}: the key in ${key.path} does not belong to the certificate in ${cert.path}`);
    return null;
  }
  return { certificatePem: certificate.toString(), privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
