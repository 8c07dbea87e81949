import { existsSync } from 'node:fs';
import net from 'node:net';
import { ImapFlow, type ExistsEvent } from 'imapflow';
import { appendMessage, startDovecot, type DovecotServer } from './dovecot';

function rawMessage(subject: string): string {
  return [
    'From: Customer <customer@example.test>',
    'To: Support <support@example.test>',
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W+/g, '-')}@example.test>`,
    'Date: Mon, 03 Mar 2025 10:00:00 +0000',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Body of ${subject}`,
    '',
  ].join('\r\n');
}

function connectClient(server: DovecotServer): ImapFlow {
  return new ImapFlow({
    host: server.host,
    port: server.port,
    secure: false,
    auth: { user: server.user, pass: server.password },
    logger: false,
  });
}

async function subjectsByUid(client: ImapFlow, uids: number[]): Promise<Map<number, string | undefined>> {
  const subjects = new Map<number, string | undefined>();
  for await (const message of client.fetch(uids.join(','), { envelope: true }, { uid: true })) {
    subjects.set(message.uid, message.envelope?.subject);
  }
  return subjects;
}

function waitFor<T>(register: (resolve: (value: T) => void) => void, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

function portAcceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startDovecot', () => {
  let server: DovecotServer;
  const clients: ImapFlow[] = [];

  beforeAll(async () => {
    // Characters that must be escaped in the URL prove the encoding is right.
    server = await startDovecot({ user: 'intake@example.test', password: 'p@ss:w/rd %1' });
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await server?.stop();
  });

  function track(client: ImapFlow): ImapFlow {
    clients.push(client);
    return client;
  }

  it('describes itself with an encoded URL', () => {
    expect(server.mailbox).toBe('INBOX');
    expect(server.url).toBe(
      `imap://intake%40example.test:p%40ss%3Aw%2Frd%20%251@127.0.0.1:${server.port}/INBOX`,
    );
    const parsed = new URL(server.url);
    expect(decodeURIComponent(parsed.username)).toBe(server.user);
    expect(decodeURIComponent(parsed.password)).toBe(server.password);
  });

  it('stores appended messages, notifies IDLE clients and survives a restart', async () => {
    const firstUid = await appendMessage(server, rawMessage('First case'));
    const secondUid = await appendMessage(server, Buffer.from(rawMessage('Second case')), ['\\Seen']);
    expect(secondUid).toBeGreaterThan(firstUid);

    const client = track(connectClient(server));
    await client.connect();
    const mailbox = await client.mailboxOpen('INBOX');
    expect(mailbox.exists).toBe(2);
    expect(await subjectsByUid(client, [firstUid, secondUid])).toEqual(
      new Map([
        [firstUid, 'First case'],
        [secondUid, 'Second case'],
      ]),
    );

    // Delivery from another connection must reach an idling client without it polling.
    const existsSeen = waitFor<ExistsEvent>((resolve) => client.once('exists', resolve), 5000, 'EXISTS during IDLE');
    const idling = client.idle();
    const thirdUid = await appendMessage(server, rawMessage('Third case'));
    const exists = await existsSeen;
    expect(exists).toMatchObject({ path: 'INBOX', count: 3, prevCount: 2 });

    // Restarting kills the idling session; a fresh client must find the same mail on the same port.
    const port = server.port;
    const closed = waitFor<void>((resolve) => client.once('close', () => resolve()), 5000, 'client close');
    await server.restart();
    await closed;
    await idling.catch(() => undefined);
    expect(server.port).toBe(port);

    const reconnected = track(connectClient(server));
    await reconnected.connect();
    const reopened = await reconnected.mailboxOpen('INBOX');
    expect(reopened.exists).toBe(3);
    expect(reopened.uidValidity).toBe(mailbox.uidValidity);
    expect(await subjectsByUid(reconnected, [firstUid, thirdUid])).toEqual(
      new Map([
        [firstUid, 'First case'],
        [thirdUid, 'Third case'],
      ]),
    );
    await reconnected.logout();
  });

  it('rejects a wrong password', async () => {
    const client = track(
      new ImapFlow({
        host: server.host,
        port: server.port,
        secure: false,
        auth: { user: server.user, pass: 'wrong' },
        logger: false,
      }),
    );
    await expect(client.connect()).rejects.toThrow();
  });

  it('stop() frees the port, deletes the directory and is idempotent', async () => {
    const extra = await startDovecot();
    expect(extra.port).not.toBe(server.port);
    await extra.stop();
    await extra.stop();
    expect(existsSync(extra.dir)).toBe(false);
    expect(await portAcceptsConnections(extra.port)).toBe(false);
    await expect(extra.restart()).rejects.toThrow(/after stop/);
  });
});
