/**
 * Just enough JWS (RFC 7515, compact form) for the OAuth harness, on node:crypto: signing the
 * providers' tokens and checking the assertions clients send. RS256 and PS256 only, the two
 * algorithms Microsoft and Google take for client and service-account assertions.
 */
import { constants, createHash, createPrivateKey, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';

export type JwtAlgorithm = 'RS256' | 'PS256';
export type JwtHeader = Record<string, unknown> & { alg?: unknown };
export type JwtClaims = Record<string, unknown>;

export interface DecodedJwt {
  header: JwtHeader;
  claims: JwtClaims;
  /** The bytes the signature covers: `<header>.<payload>` as sent. */
  signingInput: string;
  signature: Buffer;
}

export function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** `privateKey` may be a PEM. */
export function signJwt(header: JwtHeader & { alg: JwtAlgorithm }, claims: JwtClaims, privateKey: KeyObject | string): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const signingInput = `${base64url(JSON.stringify({ typ: 'JWT', ...header }))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(signingInput), keyOptions(header.alg, key));
  return `${signingInput}.${base64url(signature)}`;
}

/** Splits and parses a compact JWS; null when it is not one (wrong part count, bad JSON). */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as unknown;
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    if (!isObject(header) || !isObject(claims)) return null;
    return { header, claims, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2]!, 'base64url') };
  } catch {
    return null;
  }
}

/** True when the JWT's signature verifies with `publicKey` under the algorithm its header names. */
export function verifyJwtSignature(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  const alg = jwt.header.alg;
  if (alg !== 'RS256' && alg !== 'PS256') return false;
  try {
    return verify('sha256', Buffer.from(jwt.signingInput), keyOptions(alg, publicKey), jwt.signature);
  } catch {
    return false;
  }
}

/** The certificate thumbprints a JWS header names it by: x5t (SHA-1) and x5t#S256, base64url of the DER. */
export function certificateThumbprints(certificatePem: string): { x5t: string; x5tS256: string } {
  const der = new X509Certificate(certificatePem).raw;
  return {
    x5t: base64url(createHash('sha1').update(der).digest()),
    x5tS256: base64url(createHash('sha256').update(der).digest()),
  };
}

function keyOptions(alg: JwtAlgorithm, key: KeyObject): { key: KeyObject; padding?: number; saltLength?: number } {
  // PS256 is RSASSA-PSS with SHA-256 and a salt as long as the digest (RFC 7518 §3.5).
  return alg === 'PS256' ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : { key };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
