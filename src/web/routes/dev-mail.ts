import type { FastifyInstance } from 'fastify';
import { simpleParser } from 'mailparser';
import type { CapturedMail } from '../../intake/dev-smtp';
import { type PageRenderer } from '../pages';
import { PAGE_HEADERS } from '../security-headers';

/**
 * Development only (registered when DEV_SMTP_LISTEN is set): the mail the service sent, as a
 * list and one by one, so a newcomer can click Authorize in a browser. A message's HTML is
 * served under a sandbox CSP: no scripts, no plugins, links still work.
 */
export function registerDevMailRoutes(app: FastifyInstance, captured: CapturedMail[], pages: PageRenderer): void {
  app.get('/dev/mail', async (_request, reply) => {
    const messages = await Promise.all(
      captured.map(async (m, index) => {
        const parsed = await simpleParser(m.raw);
        return { index, to: m.to.join(', '), subject: parsed.subject ?? '(no subject)', at: m.at.toISOString().replace('T', ' ').slice(0, 19) };
      }),
    );
    return reply.headers(PAGE_HEADERS).send(pages.render('dev-mail', 'Development mailbox', { count: messages.length, messages: messages.reverse() }));
  });

  app.get<{ Params: { index: string } }>('/dev/mail/:index', async (request, reply) => {
    const m = captured[Number(request.params.index)];
    if (!m) return reply.status(404).send('no such message');
    const parsed = await simpleParser(m.raw);
    return reply
      .headers({ ...PAGE_HEADERS, 'content-security-policy': "sandbox allow-popups allow-top-navigation-by-user-activation; default-src 'none'; style-src 'unsafe-inline'; img-src data:" })
      .send(typeof parsed.html === 'string' ? parsed.html : `<pre>${(parsed.text ?? '').replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`)}</pre>`);
  });
}
