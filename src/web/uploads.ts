import { createHash } from 'node:crypto';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../errors';

/** A file sent with a form (a reply's or a comment's attachment), read whole. */
export interface Upload {
  filename: string | null;
  contentType: string;
  size: number;
  sha256: string;
  content: Buffer;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Files of a multipart form, once `acceptUploads` has read it; empty otherwise. */
    uploads: Upload[];
  }
}

export interface UploadLimits {
  /** The most the files of one form may weigh together, and so one of them (MAX_MESSAGE_BYTES: what a mailed message may). */
  fileBytes: number;
  files: number;
}

/** Room beside the files for the text fields and the multipart framing. */
const FORM_OVERHEAD_BYTES = 512 * 1024;

interface MultipartValue {
  type: 'field' | 'file';
  fieldname: string;
  value?: unknown;
  filename?: string;
  mimetype?: string;
  valueTruncated?: boolean;
  _buf?: Buffer;
}

/** The one file input the forms have; a file under any other name is refused, not guessed at. */
export const UPLOAD_FIELD = 'attachments';
const FIELD_BYTES = 256 * 1024;

/**
 * Lets the routes of `app` take multipart forms (text and files). The form's fields become plain
 * strings of `request.body`, as an urlencoded form's are, before any preHandler runs, so the CSRF
 * check reads `_csrf` the same way; the files are in `request.uploads`. A file over the limit is
 * refused with 413 before the route runs.
 */
export async function acceptUploads(app: FastifyInstance, limits: UploadLimits): Promise<void> {
  app.decorateRequest('uploads', { getter: () => [] as Upload[] });
  await app.register(multipart, { attachFieldsToBody: true, limits: { fileSize: limits.fileBytes, files: limits.files, fields: 30, fieldSize: FIELD_BYTES, parts: limits.files + 30 } });
  // Multipart reads every file into memory before the route (and its CSRF check) runs: a form is
  // refused before a byte is read when it says it is larger than a mailed message may be, or does
  // not say (browsers always send Content-Length with a form).
  app.addHook('preParsing', async (request: FastifyRequest) => {
    // isMultipart() is only known once the body parser ran; the header is what it reads.
    if (!/^multipart\/form-data\b/i.test(request.headers['content-type'] ?? '')) return;
    const length = Number(request.headers['content-length']);
    if (!Number.isFinite(length) || length > limits.fileBytes + FORM_OVERHEAD_BYTES) {
      throw new DomainError('invalid_input', `the form and its files may be at most ${Math.round(limits.fileBytes / 1024 / 1024)} MB together`);
    }
  });
  app.addHook('preValidation', async (request: FastifyRequest) => {
    if (!request.isMultipart()) return;
    const fields: Record<string, string> = {};
    const uploads: Upload[] = [];
    for (const part of Object.values((request.body ?? {}) as Record<string, MultipartValue | MultipartValue[]>).flat()) {
      if (part.type === 'field' && typeof part.value === 'string') {
        const name = part.fieldname;
        // Busboy cuts a long field short and says so; a cut reply would be stored as if whole.
        if (part.valueTruncated) throw new DomainError('invalid_input', `${name}: at most ${FIELD_BYTES / 1024} KiB`);
        // A repeated field reads as missing, as `field` does for urlencoded forms.
        fields[name] = name in fields ? '' : part.value;
      } else if (part.type === 'file') {
        if (part.fieldname !== UPLOAD_FIELD) throw new DomainError('invalid_input', `files go in the ${UPLOAD_FIELD} field, not ${part.fieldname}`);
        const content = part._buf ?? Buffer.alloc(0);
        // A file input left empty still sends a part, with no name and no bytes.
        if (!content.length && !part.filename) continue;
        uploads.push({ filename: part.filename || null, contentType: part.mimetype || 'application/octet-stream', size: content.length, sha256: createHash('sha256').update(content).digest('hex'), content });
      }
    }
    request.body = fields;
    Object.defineProperty(request, 'uploads', { value: uploads });
  });
}

/** The error for a form whose files are too many or too large (multipart's own errors say which). */
export function uploadRefused(err: unknown): DomainError | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'FST_REQ_FILE_TOO_LARGE' || code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT') return new DomainError('invalid_input', (err as Error).message);
  return null;
}
