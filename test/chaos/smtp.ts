/**
 * The chaos run's outbound mail server: a copy of test/support/smtp-sink.ts that counts what it
 * accepted per Message-ID, can refuse every message with a temporary 451 for a while, and can
 * hold each message a moment before answering (so that send jobs are in flight when asked).
 * A message counts as delivered once its DATA ended with the dot, whether or not the client
 * stayed for the answer (a real server would have queued it); a DATA the client dropped before
 * the dot (a withdrawn send, a kill) is discarded and only counted in `abortedData`.
 */
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from '../support/smtp-sink';

export interface AcceptedMail {
  messageId: string;
  to: string[];
  subject: string;
  text: string;
  /** When its DATA ended (the answer may come later). */
  at: number;
  /** The SMTP session it came in on (a killed client's session ends without QUIT). */
  session: string;
}

export interface ChaosSmtp {
  port: number;
  url: string;
  /** Every message answered 250, in order. */
  accepted: AcceptedMail[];
  /** Accepted deliveries per Message-ID (without angle brackets). */
  deliveries: Map<string, number>;
  /** When each SMTP session ended (by session id). */
  closedAt: Map<string, number>;
  /** Messages answered 451 so far. */
  refusals: number;
  /** DATA phases whose connection dropped before the dot (discarded, never delivered). */
  abortedData: number;
  /** Messages whose DATA has ended and whose answer is not given yet. */
  inFlight(): number;
  /** Answer every message 451 (temporary) until accept(). */
  refuse(): void;
  accept(): void;
  /** Wait this long before answering each message (0: at once). */
  setDelay(ms: number): void;
  stop(): Promise<void>;
}

function headerMessageId(raw: Buffer): string | null {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end === -1 ? raw.length : end).toString('utf8').replace(/\r\n[ \t]+/g, ' ');
  const m = /^message-id:\s*<?([^>\r\n]+)>?/im.exec(head);
  return m ? m[1]!.trim() : null;
}

export async function startChaosSmtp(): Promise<ChaosSmtp> {
  const accepted: AcceptedMail[] = [];
  const deliveries = new Map<string, number>();
  let refusing = false;
  let delayMs = 0;
  let refusals = 0;
  let abortedData = 0;
  let pending = 0;
  const closedAt = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    // Killed clients leave connections behind; do not let them pile up for long.
    socketTimeout: 30_000,
    closeTimeout: 1000,
    onClose(session) {
      closedAt.set(session.id, Date.now());
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      let dot = false;
      stream.on('data', (c: Buffer) => chunks.push(c));
      // smtp-server destroys the stream (with this error) when the client goes away before the dot.
      stream.on('error', () => undefined);
      stream.on('close', () => void (dot || abortedData++));
      // 'end' comes only with the dot.
      stream.on('end', () => {
        dot = true;
        const receivedAt = Date.now();
        pending++;
        const answer = async () => {
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
          if (refusing) {
            refusals++;
            throw Object.assign(new Error('451 4.3.0 chaos: try again later'), { responseCode: 451 });
          }
          const raw = Buffer.concat(chunks);
          const messageId = headerMessageId(raw) ?? `(none)-${accepted.length}`;
          const parsed = await simpleParser(raw, { skipHtmlToText: true, skipImageLinks: true, skipTextToHtml: true });
          deliveries.set(messageId, (deliveries.get(messageId) ?? 0) + 1);
          accepted.push({ messageId, to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), subject: parsed.subject ?? '', text: parsed.text ?? '', at: receivedAt, session: session.id });
        };
        answer().then(
          () => {
            pending--;
            callback();
          },
          (err: Error) => {
            pending--;
            callback(err);
          },
        );
      });
    },
  });
  server.on('error', () => undefined); // a client killed mid-session is not our failure
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    accepted,
    deliveries,
    closedAt,
    get refusals() {
      return refusals;
    },
    get abortedData() {
      return abortedData;
    },
    inFlight: () => pending,
    refuse: () => void (refusing = true),
    accept: () => void (refusing = false),
    setDelay: (ms) => void (delayMs = ms),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
