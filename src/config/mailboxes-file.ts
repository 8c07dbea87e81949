import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { readText } from './credential-files';
import { parseImapUrl, urlLogin, type ImapTarget } from './imap-target';
import { OAUTH_FIELDS, readOAuthCredential, type OAuthSettings } from './oauth-credential';

/**
 * MAILBOXES_FILE: several mailboxes, each with its own login, instead of IMAP_URL. A JSON array,
 * one entry per mailbox:
 *
 *   [
 *     { "url": "imaps://support%40contoso.com@outlook.office365.com/INBOX",
 *       "auth": { "method": "oauth2", "provider": "microsoft", "tenantId": "…", "clientId": "…",
 *                 "clientSecret": { "env": "CONTOSO_SECRET" } } },
 *     { "url": "imaps://help%40fabrikam.com@imap.gmail.com/INBOX",
 *       "auth": { "method": "oauth2", "provider": "google", "serviceAccountFile": "fabrikam-sa.json" } },
 *     { "url": "imaps://intake@mail.example.net/INBOX", "auth": { "method": "password", "password": { "env": "EXAMPLE_PW" } } },
 *     { "url": "imap://support:support@127.0.0.1:143/INBOX" }
 *   ]
 *
 * - `url`: imap:// or imaps://, the user URL-encoded; with oauth2 it names the user and no password.
 * - `auth` (optional): absent, the URL's user and password log in, as with IMAP_URL;
 *   `{ "method": "password", "password": <secret> }` (the URL then holds no password);
 *   `{ "method": "oauth2", ... }` with the OAUTH_* variables' names in camelCase: provider,
 *   tenantId, clientId, clientSecret, clientCertFile, clientKeyFile, serviceAccountFile,
 *   refreshToken, tokenUrl, scope, authorityUrl, by the same rules as the variables.
 * - Secrets (password, clientSecret, refreshToken) are a string or `{ "env": "NAME" }`, read from
 *   that environment variable, so the file itself need hold none.
 * - Relative file paths are relative to the directory of MAILBOXES_FILE.
 * - Unknown fields are problems: a misspelt setting must not be dropped silently.
 */

const secret = z.union([z.string().min(1), z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must name an environment variable' }) })], {
  error: 'must be a string or { "env": "NAME" }',
});
type Secret = z.infer<typeof secret>;

const SECRET_FIELDS = new Set(['clientSecret', 'refreshToken']);
/** Stands in for a secret whose variable is unset (already reported); never part of a credential. */
const UNRESOLVED = '(unset)';
const text = z.string().min(1).optional();
const oauthAuth = z.strictObject({
  method: z.literal('oauth2'),
  provider: text,
  tenantId: text,
  clientId: text,
  clientSecret: secret.optional(),
  clientCertFile: text,
  clientKeyFile: text,
  serviceAccountFile: text,
  refreshToken: secret.optional(),
  tokenUrl: text,
  scope: text,
  authorityUrl: text,
});
const passwordAuth = z.strictObject({ method: z.literal('password'), password: secret });

const entrySchema = z.strictObject({
  url: z.string(),
  auth: z.discriminatedUnion('method', [passwordAuth, oauthAuth], { error: 'method must be "password" or "oauth2"' }).optional(),
});
type Entry = z.infer<typeof entrySchema>;

function zodPath(path: PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/**
 * The entry, checked: each problem reported, and an entry whose only fault is unknown fields read
 * without them, so its other settings are still checked in the same start.
 */
function parseEntry(raw: unknown, label: string, problems: string[]): Entry | null {
  const parsed = entrySchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const at = `${label}${zodPath(issue.path)}`;
    if (issue.code === 'unrecognized_keys') problems.push(...issue.keys.map((key) => `${at}.${key}: unknown field`));
    else problems.push(`${at}: ${issue.message}`);
  }
  if (!parsed.error.issues.every((issue) => issue.code === 'unrecognized_keys')) return null;
  const known = structuredClone(raw) as Record<PropertyKey, unknown>;
  for (const issue of parsed.error.issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const holder = issue.path.reduce<Record<PropertyKey, unknown>>((o, key) => o[key] as Record<PropertyKey, unknown>, known);
    for (const key of issue.keys) delete holder[key];
  }
  const again = entrySchema.safeParse(known);
  return again.success ? again.data : null;
}

/** A secret's value, or undefined after reporting the variable it names unset. */
function secretValue(value: Secret | undefined, label: string, env: NodeJS.ProcessEnv, problems: string[]): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  const found = env[value.env];
  if (found) return found;
  // A conventional name is safe to repeat; anything else may be a secret written in the wrong place.
  const name = /^[A-Z_][A-Z0-9_]*$/.test(value.env) ? `environment variable ${value.env}` : 'environment variable it names';
  problems.push(`${label}: the ${name} is not set`);
  return undefined;
}

function readJson(path: string, problems: string[]): unknown {
  const text = readText(path, 'MAILBOXES_FILE', problems);
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    // The parser's message may quote the file, and the file may hold secrets: only the position.
    const at = /position (\d+)/.exec(String((err as Error).message))?.[1];
    const where = at === undefined ? '' : ` (line ${text.slice(0, Number(at)).split('\n').length})`;
    problems.push(`MAILBOXES_FILE: ${path} is not valid JSON${where}`);
    return undefined;
  }
}

function targetOf(entry: Entry, label: string, baseDir: string, env: NodeJS.ProcessEnv, problems: string[]): ImapTarget | null {
  let u: URL | null = null;
  try {
    u = new URL(entry.url);
  } catch {
    // Reported below.
  }
  if (!u || !['imap:', 'imaps:'].includes(u.protocol)) {
    problems.push(`${label}.url: must be a URL starting with imap:// or imaps://`);
    return null;
  }
  const target = parseImapUrl(entry.url);
  const { user, password } = urlLogin(u);
  const auth = entry.auth;
  if (!auth) return target;
  if (password) problems.push(`${label}.url: names a password, but ${label}.auth gives the login; remove the password from the URL`);
  if (auth.method === 'password') {
    const value = secretValue(auth.password, `${label}.auth.password`, env, problems);
    return value === undefined ? null : { ...target, auth: { method: 'password', user, password: value } };
  }
  if (!user) problems.push(`${label}.url: must name the mailbox's user (imaps://support%40contoso.com@host/INBOX) with oauth2`);
  const settings: OAuthSettings = {};
  let unresolved = false;
  for (const field of OAUTH_FIELDS) {
    const given = auth[field];
    if (given === undefined) continue;
    const value = SECRET_FIELDS.has(field) ? secretValue(given, `${label}.auth.${field}`, env, problems) : (given as string);
    // A secret whose variable is unset still counts as given, so the rules do not call it missing too.
    settings[field] = value ?? UNRESOLVED;
    unresolved ||= value === undefined;
  }
  const credentialFor = readOAuthCredential(settings, { label: (field) => `${label}.auth.${field}`, baseDir }, problems);
  return credentialFor && user && !unresolved ? { ...target, auth: { method: 'oauth2', user, credential: credentialFor(user) } } : null;
}

/**
 * The mailboxes MAILBOXES_FILE lists, each entry checked on its own, so every problem of the file
 * is listed at once, named `MAILBOXES_FILE[<i>].<field>`; never a secret's value.
 */
export function readMailboxesFile(file: string, env: NodeJS.ProcessEnv, problems: string[]): ImapTarget[] {
  const path = resolve(file);
  const json = readJson(path, problems);
  if (json === undefined) return [];
  if (!Array.isArray(json) || json.length === 0) {
    problems.push(`MAILBOXES_FILE: ${path} must hold a JSON array with one entry per mailbox`);
    return [];
  }
  const targets: ImapTarget[] = [];
  const firstById = new Map<string, number>();
  json.forEach((raw: unknown, i) => {
    const label = `MAILBOXES_FILE[${i}]`;
    const entry = parseEntry(raw, label, problems);
    const target = entry && targetOf(entry, label, dirname(path), env, problems);
    if (!target) return;
    const first = firstById.get(target.id);
    if (first !== undefined) problems.push(`${label}.url: the same mailbox as MAILBOXES_FILE[${first}] (${target.id})`);
    else firstById.set(target.id, i);
    targets.push(target);
  });
  return targets;
}
