import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { SMTPServer } from 'smtp-server';
import { END_OF_DATA, parseSmtpUrl, SMTPConnection, socketOf, xoauth2Login } from '../../src/mail/smtp-internals';
import { freePort } from '../support/smtp-sink';

/**
 * What mail/smtp-internals.ts says the send commit point relies on of nodemailer (its points 1
 * to 7), checked against a real SMTP server on loopback. A failure here after a nodemailer
 * upgrade names what changed: do not upgrade until smtp-internals.ts and commit-point.ts are
 * made right for the new version.
 */

interface Server {
  port: number;
  /** What happened, in order: `server:data` when DATA is taken (just before the 354), `server:end` at the dot. */
  events: string[];
  received: Buffer[];
  tokens: string[];
  stop(): Promise<void>;
}

async function startServer(opts: { oauth?: boolean } = {}): Promise<Server> {
  const events: string[] = [];
  const received: Buffer[] = [];
  const tokens: string[] = [];
  const server = new SMTPServer({
    logger: false,
    disabledCommands: opts.oauth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    ...(opts.oauth ? { authOptional: false, authMethods: ['XOAUTH2'], allowInsecureAuth: true } : { authOptional: true }),
    onAuth(auth, _session, callback) {
      tokens.push(String(auth.accessToken));
      if (auth.accessToken === 'good') return callback(null, { user: auth.username });
      callback(null, { data: { status: '401', schemes: 'bearer' } });
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('refused')) return callback(Object.assign(new Error('no such user'), { responseCode: 550 }));
      callback();
    },
    onData(stream, _session, callback) {
      events.push('server:data');
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', () => undefined);
      stream.on('end', () => {
        events.push('server:end');
        received.push(Buffer.concat(chunks));
        callback();
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return { port, events, received, tokens, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function call<T>(start: (done: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value as T))));
}

async function connected(port: number): Promise<SMTPConnection> {
  const conn = new SMTPConnection(parseSmtpUrl(`smtp://127.0.0.1:${port}`));
  conn.on('error', () => undefined);
  await call<void>((done) => conn.connect((err) => done(err)));
  return conn;
}

/** Records every write the connection's socket gets, through a `write` set on the socket itself. */
function recordWrites(conn: SMTPConnection): Buffer[] {
  const socket = socketOf(conn)();
  const write = socket.write;
  const writes: Buffer[] = [];
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (Buffer.isBuffer(chunk)) writes.push(chunk);
    return (write as (...args: unknown[]) => boolean).apply(socket, [chunk, ...rest]);
  }) as Writable['write'];
  return writes;
}

const envelope = () => ({ from: 'support@example.test', to: ['someone@example.test'] });

let server: Server;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
});

test('nodemailer is pinned to one exact version, the one installed and checked here', () => {
  const wanted = (JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies.nodemailer;
  expect(wanted).toMatch(/^\d+\.\d+\.\d+$/);
  const installed = JSON.parse(readFileSync(join(dirname(require.resolve('nodemailer')), '../../package.json'), 'utf8')) as { name: string; version: string };
  expect(installed).toEqual(expect.objectContaining({ name: 'nodemailer', version: wanted }));
});

test('1. the module paths and what they export', () => {
  expect(typeof SMTPConnection).toBe('function');
  expect(parseSmtpUrl('smtp://relay:s3cret@127.0.0.1:2525?authMethod=PLAIN')).toMatchObject({ host: '127.0.0.1', port: 2525, secure: false, auth: { user: 'relay', pass: 's3cret' }, authMethod: 'PLAIN' });
  for (const name of ['connect', 'login', 'send', 'quit', 'close'] as const) expect(`${name}: ${typeof SMTPConnection.prototype[name]}`).toBe(`${name}: function`);
});

test('2. the callback API, `destroyed`, `allowsAuth`, the response on success and the code on a refusal, and the end event', async () => {
  const conn = await connected(server.port);
  expect(conn.destroyed).toBe(false);
  expect(conn.allowsAuth).toBe(false);
  const info = await call<SMTPConnection.SentMessageInfo>((done) => conn.send(envelope(), Buffer.from('Subject: a\r\n\r\nhello\r\n'), done));
  expect(String(info.response)).toMatch(/^250 /);
  const refused = await call((done) => conn.send({ ...envelope(), to: ['refused@example.test'] }, Buffer.from('Subject: b\r\n\r\nno\r\n'), done)).catch((err: unknown) => err);
  expect(refused).toMatchObject({ responseCode: 550 });
  expect(String((refused as { response?: unknown }).response)).toMatch(/^550 /);
  const ended = new Promise<void>((resolve) => conn.once('end', () => resolve()));
  conn.close();
  await ended;
  expect(conn.destroyed).toBe(true);
});

test('3. a stream message is read only once the server has answered DATA', async () => {
  const events = server.events;
  events.length = 0;
  const conn = await connected(server.port);
  const message = new Readable({
    read() {
      events.push('client:read');
      this.push(Buffer.from('Subject: c\r\n\r\nread late\r\n'));
      this.push(null);
    },
  });
  await call((done) => conn.send(envelope(), message, done));
  conn.close();
  expect(events).toEqual(['server:data', 'client:read', 'server:end']);
});

test.each([
  ['LF', 'Subject: d\r\n\r\n.dot first\r\nends with LF\r\n', 0],
  ['CR', 'Subject: d\r\n\r\n.dot first\r\nends with CR\r', 1],
  ['neither', 'Subject: d\r\n\r\n.dot first\r\nends with no line end', 2],
])('4. the DataStream writes through the socket\'s own `write`, the end of data (message ending in %s) alone and last', async (_ending, text, terminator) => {
  const conn = await connected(server.port);
  const writes = recordWrites(conn);
  await call((done) => conn.send(envelope(), Readable.from([Buffer.from(text)]), done));
  conn.close();
  const dataStart = writes.findIndex((w) => w.toString() === 'DATA\r\n') + 1;
  expect(dataStart).toBeGreaterThan(0);
  const data = writes.slice(dataStart);
  expect(data.at(-1)).toEqual(END_OF_DATA[terminator]);
  // Dot-stuffed before it reaches the socket; the server took it back out.
  expect(Buffer.concat(data.slice(0, -1)).toString()).toContain('\r\n..dot first');
  expect(server.received.at(-1)!.toString()).toContain('\r\n.dot first');
});

test('6. close() during DATA writes nothing more of the message, no dot, and destroys the message stream', async () => {
  const conn = await connected(server.port);
  const writes = recordWrites(conn);
  let reading!: () => void;
  const read = new Promise<void>((resolve) => (reading = resolve));
  const message = new Readable({
    read() {
      if (!reading) return;
      this.push(Buffer.from('Subject: e\r\n\r\nfirst part\r\n'));
      reading();
    },
  });
  // close() answers no callback of the send: the connection's 'end' event says it is over.
  const ended = new Promise<void>((resolve) => conn.once('end', () => resolve()));
  conn.send(envelope(), message, () => undefined);
  await read;
  await new Promise((resolve) => setTimeout(resolve, 50));
  const before = writes.length;
  conn.close();
  message.push(Buffer.from('second part\r\n'));
  message.push(null);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(writes.length).toBe(before);
  expect(writes.some((w) => END_OF_DATA.some((line) => line.equals(w)))).toBe(false);
  expect(message.destroyed).toBe(true);
  await ended;
});

test('7. XOAUTH2: getToken(false), then after the 334 getToken(true) once, the SASL string from buildXOAuth2Token, the last line on refusal', async () => {
  const oauth = await startServer({ oauth: true });
  try {
    const asked: boolean[] = [];
    const ok = await connected(oauth.port);
    expect(ok.allowsAuth).toBe(true);
    await call<void>((done) => ok.login(xoauth2Login('relay@example.test', async (renew) => (asked.push(renew), renew ? 'good' : 'stale')), (err) => done(err)));
    expect(asked).toEqual([false, true]);
    expect(oauth.tokens).toEqual(['stale', 'good']);
    ok.close();

    const bad = await connected(oauth.port);
    const refused = await call<void>((done) => bad.login(xoauth2Login('relay@example.test', async () => 'wrong'), (err) => done(err))).catch((err: unknown) => err);
    expect(String((refused as { response?: unknown }).response)).toMatch(/^535 /);
    bad.close();
  } finally {
    await oauth.stop();
  }
});
