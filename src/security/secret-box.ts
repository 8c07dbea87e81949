import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Values the service must read back but a copy of the database must not give away (an outbox
 * row's links, a webhook endpoint's signing secret): sealed with AES-256-GCM under a key derived
 * from LINK_SECRET, which is not in the database. `purpose` separates the keys of different uses.
 * Stored as iv | tag | ciphertext.
 */
export class SecretBox {
  private readonly keys: Buffer[];

  /** `secrets`: LINK_SECRET first, then LINK_SECRET_PREVIOUS (values sealed before a rotation still open). */
  constructor(secrets: Array<string | null>, purpose: string) {
    this.keys = secrets.filter((s): s is string => Boolean(s)).map((s) => Buffer.from(hkdfSync('sha256', s, Buffer.alloc(0), purpose, 32)));
    if (!this.keys.length) throw new Error('SecretBox needs LINK_SECRET');
  }

  seal(plaintext: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0]!, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  /** Throws when no key opens it (sealed under a secret no longer configured, or altered). */
  open(sealed: Buffer, what: string): string {
    const iv = sealed.subarray(0, IV_BYTES);
    const tag = sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
    const body = sealed.subarray(IV_BYTES + TAG_BYTES);
    for (const key of this.keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        // The next key, if any.
      }
    }
    throw new Error(`${what} cannot be opened with LINK_SECRET or LINK_SECRET_PREVIOUS`);
  }
}
