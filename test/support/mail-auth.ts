/**
 * Raw SASL exchanges for the harness's self-tests, so a test sees exactly what a server answers
 * (the continuation carrying an OAuth error, the final status), which client libraries hide.
 */
import net from 'node:net';

export interface SaslOutcome {
  ok: boolean;
  /** The decoded JSON of an error continuation (IMAP "+ ..." / SMTP "334 ..."), if one came. */
  challenge: Record<string, unknown> | null;
  /** The final status line. */
  final: string;
  /** Every line the server sent. */
  lines: string[];
}

/** The XOAUTH2 initial response (Google's format): user, then the bearer token. */
export function xoauth2(user: string, token: string): string {
  return Buffer.from(`user=${user}\x01auth=Bearer ${token}\x01\x01`).toString('base64');
}

/** IMAP AUTHENTICATE XOAUTH2 with an initial response (SASL-IR), answering an error continuation with an empty line. */
export async function imapXoauth2(port: number, user: string, token: string): Promise<SaslOutcome> {
  const conn = await LineConnection.open(port);
  try {
    await conn.until((l) => l.startsWith('* OK'));
    conn.write(`a1 AUTHENTICATE XOAUTH2 ${xoauth2(user, token)}`);
    let challenge: SaslOutcome['challenge'] = null;
    const final = await conn.until((line) => {
      if (line.startsWith('+ ')) {
        challenge = decodeChallenge(line.slice(2));
        conn.write('');
        return false;
      }
      return line.startsWith('a1 ');
    });
    return { ok: final.startsWith('a1 OK'), challenge, final, lines: conn.lines };
  } finally {
    conn.close();
  }
}

/** IMAP LOGIN with a password, to show a server refuses it. */
export async function imapLogin(port: number, user: string, password: string): Promise<SaslOutcome> {
  const conn = await LineConnection.open(port);
  try {
    await conn.until((l) => l.startsWith('* OK'));
    conn.write(`a1 LOGIN "${user}" "${password}"`);
    const final = await conn.until((l) => l.startsWith('a1 '));
    return { ok: final.startsWith('a1 OK'), challenge: null, final, lines: conn.lines };
  } finally {
    conn.close();
  }
}

/** SMTP EHLO then AUTH XOAUTH2, answering a 334 error continuation with an empty line as Gmail expects. */
export async function smtpXoauth2(port: number, user: string, token: string): Promise<SaslOutcome & { ehlo: string[] }> {
  const conn = await LineConnection.open(port);
  try {
    await conn.until((l) => /^220 /.test(l));
    conn.write('EHLO harness.test');
    await conn.until((l) => /^250 /.test(l));
    const ehlo = conn.lines.filter((l) => l.startsWith('250'));
    conn.write(`AUTH XOAUTH2 ${xoauth2(user, token)}`);
    let challenge: SaslOutcome['challenge'] = null;
    const final = await conn.until((line) => {
      if (line.startsWith('334 ')) {
        challenge = decodeChallenge(line.slice(4));
        conn.write('');
        return false;
      }
      return /^\d{3} /.test(line);
    });
    return { ok: final.startsWith('235'), challenge, final, lines: conn.lines, ehlo };
  } finally {
    conn.close();
  }
}

function decodeChallenge(b64: string): Record<string, unknown> | null {
  try {
    return JSON.parse(Buffer.from(b64.trim(), 'base64').toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

class LineConnection {
  readonly lines: string[] = [];
  private buffered = '';
  /** Index of the first line `until` has not looked at. */
  private read = 0;
  private waiter: (() => void) | null = null;
  private ended: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffered += chunk;
      let end: number;
      while ((end = this.buffered.indexOf('\r\n')) !== -1) {
        this.lines.push(this.buffered.slice(0, end));
        this.buffered = this.buffered.slice(end + 2);
      }
      this.waiter?.();
    });
    const finish = (err: Error) => {
      this.ended = err;
      this.waiter?.();
    };
    socket.on('error', finish);
    socket.on('close', () => finish(new Error('connection closed')));
  }

  static open(port: number): Promise<LineConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new LineConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** Resolves with the first line (from the next unread one on) that `done` accepts. */
  async until(done: (line: string) => boolean, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let next = this.read;
    for (;;) {
      while (next < this.lines.length) {
        const line = this.lines[next++]!;
        this.read = next;
        if (done(line)) return line;
      }
      if (this.ended) throw new Error(`${this.ended.message} after: ${this.lines.join(' | ')}`);
      if (Date.now() > deadline) throw new Error(`timed out after: ${this.lines.join(' | ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiter = () => {
          clearTimeout(timer);
          this.waiter = null;
          resolve();
        };
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
