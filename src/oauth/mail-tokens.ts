import { createHash } from 'node:crypto';
import type { MailAuth, OAuthCredential } from './credentials';
import { TokenCache, type TokenSource } from './token-cache';
import { requestToken, type IssuedToken } from './token-client';

/** A token request that neither answers nor fails by then has failed (and is retried with the backoff). */
export const TOKEN_REQUEST_TIMEOUT_MS = 15_000;

/** Which login a token source serves: the credential and its user (what a token is issued for). */
export type MailTokens = (auth: MailAuth) => TokenSource | null;

/**
 * The process's token caches, one per credential: the IMAP watcher and the SMTP transport that log
 * in with the same credential share its token. Keyed by a digest of the credential, so no secret
 * is kept as a key or can be printed from one.
 */
export function mailTokens(request: (credential: OAuthCredential) => Promise<IssuedToken> = (c) => requestToken(c, { timeoutMs: TOKEN_REQUEST_TIMEOUT_MS })): MailTokens {
  const caches = new Map<string, TokenCache>();
  return (auth) => {
    if (auth.method !== 'oauth2') return null;
    const key = createHash('sha256').update(JSON.stringify(auth.credential)).digest('hex');
    let cache = caches.get(key);
    if (!cache) caches.set(key, (cache = new TokenCache(() => request(auth.credential))));
    return cache;
  };
}
