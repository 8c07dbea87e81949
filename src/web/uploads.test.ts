import Fastify, { type FastifyInstance } from 'fastify';
import { DomainError } from '../errors';
import { acceptUploads, uploadRefused } from './uploads';

// The multipart edge on a real Fastify server and real HTTP: what the forms' routes receive.
describe('acceptUploads', () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    // A form refused before it is read leaves its upload's connection open: close it with the server.
    app = Fastify({ forceCloseConnections: true });
    app.setErrorHandler((thrown, _request, reply) => {
      const err = uploadRefused(thrown) ?? thrown;
      if (err instanceof DomainError) return reply.status(400).send({ error: err.code, message: err.message });
      return reply.status(500).send({ error: 'internal', message: String(err) });
    });
    await acceptUploads(app, { fileBytes: 1024, files: 2 });
    app.post('/form', async (request) => ({ body: request.body, files: request.uploads.map((u) => ({ filename: u.filename, size: u.size, sha256: u.sha256 })) }));
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  const post = async (build: (f: FormData) => void) => {
    const form = new FormData();
    build(form);
    const res = await fetch(`${base}/form`, { method: 'POST', body: form });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('gives the fields as strings and the files of the attachments input, skipping an empty input', async () => {
    const res = await post((f) => {
      f.set('text', 'hello');
      f.append('attachments', new Blob(['abc']), 'a.txt');
      f.append('attachments', new Blob([]), '');
    });
    expect(res).toEqual({ status: 200, json: { body: { text: 'hello' }, files: [{ filename: 'a.txt', size: 3, sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' }] } });
  });

  it('refuses a field cut short by the size limit instead of passing it on as whole', async () => {
    const res = await post((f) => f.set('text', 'x'.repeat(300 * 1024)));
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/text: at most 256 KiB/);
  });

  it('refuses a file under another field name', async () => {
    const res = await post((f) => f.append('avatar', new Blob(['abc']), 'a.txt'));
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/files go in the attachments field/);
  });

  it('refuses a file over the limit and more files than allowed', async () => {
    expect((await post((f) => f.append('attachments', new Blob(['x'.repeat(2048)]), 'big.bin'))).status).toBe(400);
    const many = await post((f) => ['1', '2', '3'].forEach((n) => f.append('attachments', new Blob([n]), `${n}.txt`)));
    expect(many.status).toBe(400);
  });

  it('refuses a form larger than one mailed message before reading it, whatever its files weigh each', async () => {
    const res = await post((f) => {
      f.set('text', 'x'.repeat(200 * 1024));
      f.set('more', 'y'.repeat(200 * 1024));
      f.set('again', 'z'.repeat(200 * 1024));
    });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/at most 0 MB together/);
  });

  it('reads a repeated field as missing', async () => {
    const res = await post((f) => {
      f.append('status', 'pending');
      f.append('status', 'solved');
    });
    expect(res.json.body).toEqual({ status: '' });
  });
});
