import net from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CapturedMessage {
  envelopeTo: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

/**
 * A real SMTP server on a free loopback port that keeps what it receives, for tests of outbound
 * mail. `refuse(code)` makes it answer every message with that SMTP code until `accept()`.
 */
export interface SmtpSink {
  port: number;
  url: string;
  messages: CapturedMessage[];
  refuse(code: number): void;
  accept(): void;
  /** Messages to an address (envelope recipient), optionally of a subject pattern. */
  to(address: string, subject?: RegExp): CapturedMessage[];
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: CapturedMessage[] = [];
  let refusal: number | null = null;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (refusal !== null) return callback(Object.assign(new Error(`${refusal} refused by the test sink`), { responseCode: refusal }));
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            messages.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), raw, parsed });
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    refuse: (code) => (refusal = code),
    accept: () => (refusal = null),
    to: (address, subject) => messages.filter((m) => m.envelopeTo.includes(address.toLowerCase()) && (!subject || subject.test(m.parsed.subject ?? ''))),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
