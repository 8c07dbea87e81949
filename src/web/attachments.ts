import type { FastifyReply } from 'fastify';
import type { AttachmentContent } from '../cases/detail';
import { ATTACHMENT_HEADERS } from './security-headers';

/**
 * An attachment always downloads, under the name the sender gave, and never renders in our
 * origin: a generic type, `nosniff`, and a sandbox in case a browser displays it anyway.
 */
export function sendAttachment(reply: FastifyReply, id: string, a: AttachmentContent): FastifyReply {
  const name = (a.filename ?? `attachment-${id}`).replace(/[\r\n"\\]/g, '_');
  return reply
    .header('content-type', 'application/octet-stream')
    .header('content-disposition', `attachment; filename="${name.replace(/[^\x20-\x7e]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`)
    .headers(ATTACHMENT_HEADERS)
    .send(a.content);
}
