import Handlebars from 'handlebars';
import { SecretBox } from '../security/secret-box';

/*
 * The secret parts of a mail at rest. A portal sign-in or invitation link, and an approval's
 * token (in its links and its Reply-To), open or decide something: the outbox row keeps a
 * placeholder where each stood, and the values themselves sealed (AES-256-GCM) with a key
 * derived from LINK_SECRET, which is not in the database. The send puts them back in memory,
 * just before the message is composed; once the row is sent (or failed for good) the sealed
 * values are dropped. A copy of the database then holds no working link.
 */

const PURPOSE = 'case-intake/outbox-secrets/v1';

/** A sealed row's secrets: the placeholders' nonce and the values, in placeholder order. */
export interface OpenedSecrets {
  nonce: string;
  values: string[];
}

/** Where each secret stood: `[[secret:<nonce>:<i>]]` (no character a template escapes, none a stranger can guess). */
export function placeholder(nonce: string, i: number): string {
  return `[[secret:${nonce}:${i}]]`;
}

export class OutboxSealer {
  private readonly box: SecretBox;

  /** `secrets`: LINK_SECRET first, then LINK_SECRET_PREVIOUS (rows queued before a rotation still open). */
  constructor(secrets: Array<string | null>) {
    this.box = new SecretBox(secrets, PURPOSE);
  }

  seal(secrets: OpenedSecrets): Buffer {
    return this.box.seal(JSON.stringify(secrets));
  }

  /** Throws when no key opens it (sealed under a secret no longer configured, or altered). */
  open(sealed: Buffer): OpenedSecrets {
    return JSON.parse(this.box.open(sealed, "the mail's sealed links")) as OpenedSecrets;
  }
}

/** Every string in `value` (deeply) with each secret replaced by its placeholder, longest first. */
export function withPlaceholders<T>(value: T, secrets: OpenedSecrets): T {
  const order = secrets.values.map((s, i) => ({ s, p: placeholder(secrets.nonce, i) })).sort((a, b) => b.s.length - a.s.length);
  const hide = (text: string) => order.reduce((t, { s, p }) => t.split(s).join(p), text);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return hide(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object' && !(v instanceof Date)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** `text` with the placeholders put back; `html` escapes them as the templates escape every value. */
export function revealed(text: string, secrets: OpenedSecrets, format: 'text' | 'html'): string {
  return secrets.values.reduce((t, value, i) => t.split(placeholder(secrets.nonce, i)).join(format === 'html' ? Handlebars.Utils.escapeExpression(value) : value), text);
}

/** Throws when a secret survived into what is to be stored (a template that transformed a placeholder, say). */
export function assertNoSecret(stored: Array<string | null>, secrets: string[]): void {
  const forms = secrets.flatMap((s) => [s, Handlebars.Utils.escapeExpression(s)]);
  for (const s of forms) if (stored.some((text) => text !== null && text.includes(s))) throw new Error('a secret part of a mail would be stored at rest');
}

/** The parts of an outbox row the send reads. */
interface StoredMail {
  subject: string;
  text: string;
  html: string;
  reply_to: string | null;
  sealed_secrets: Buffer | null;
}

/** The row as it is to be sent: its placeholders replaced by the sealed values (in memory only). */
export function revealRow<R extends StoredMail>(sealer: OutboxSealer, row: R): R {
  if (!row.sealed_secrets) return row;
  const secrets = sealer.open(row.sealed_secrets);
  return {
    ...row,
    subject: revealed(row.subject, secrets, 'text'),
    text: revealed(row.text, secrets, 'text'),
    html: revealed(row.html, secrets, 'html'),
    reply_to: row.reply_to === null ? null : revealed(row.reply_to, secrets, 'text'),
  };
}
