import type { FastifyReply, FastifyRequest } from 'fastify';

// A few lines of our own instead of @fastify/cookie: that plugin loads the ESM-only `cookie`
// package through a dynamic import, which the test runner cannot execute.

export interface CookieOptions {
  path: string;
  httpOnly: boolean;
  sameSite: 'lax' | 'strict';
  secure: boolean;
  expires?: Date;
}

/** The named cookie of the request, or undefined. Values we set are URL-safe base64; others are ignored. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]+$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

export function setCookie(reply: FastifyReply, name: string, value: string, o: CookieOptions): FastifyReply {
  const attrs = [`${name}=${value}`, `Path=${o.path}`, `SameSite=${o.sameSite === 'lax' ? 'Lax' : 'Strict'}`];
  if (o.httpOnly) attrs.push('HttpOnly');
  if (o.secure) attrs.push('Secure');
  if (o.expires) attrs.push(`Expires=${o.expires.toUTCString()}`);
  return reply.header('set-cookie', attrs.join('; '));
}

export function clearCookie(reply: FastifyReply, name: string, path: string): FastifyReply {
  return reply.header('set-cookie', `${name}=; Path=${path}; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax`);
}
