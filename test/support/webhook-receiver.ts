import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { freePort } from './smtp-sink';

export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  /** The body checked against the endpoint's secret by the standardwebhooks library. */
  verified: boolean;
  event: { id: string; type: string; timestamp: string; cursor?: string; data: Record<string, unknown> & { case?: { reference: string } } };
  answered: number | 'none';
}

/** What the receiver does with a request: answer with a status (after `delayMs`), or never answer. */
export type Answer = { status: number; delayMs?: number } | 'hang';

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Decides each request's answer; 200 at once unless set. */
  answer: (req: ReceivedWebhook) => Answer;
  /** The secret requests are verified with (set after the endpoint is added). */
  secret: string | null;
  /** Stops listening and drops open connections: requests are refused, as by a receiver that is down. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** A real HTTP server on loopback standing in for a help desk's webhook receiver. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  const hung = new Set<ServerResponse>();
  let server: Server | null = null;
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hooks/case-intake`,
    received: [],
    answer: () => ({ status: 200 }),
    secret: null,
    async down() {
      const s = server;
      server = null;
      if (!s) return;
      for (const res of hung) res.destroy();
      hung.clear();
      const closed = new Promise((resolve) => s.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    async up() {
      if (server) return;
      server = createServer((req, res) => void handle(req, res));
      server.on('connection', (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    },
    stop: () => receiver.down(),
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    let verified = false;
    try {
      verified = receiver.secret !== null && new Webhook(receiver.secret).verify(body, headers) !== undefined;
    } catch {
      verified = false;
    }
    const got: ReceivedWebhook = { headers, body, verified, event: JSON.parse(body) as ReceivedWebhook['event'], answered: 'none' };
    receiver.received.push(got);
    const answer = receiver.answer(got);
    if (answer === 'hang') {
      hung.add(res);
      res.on('close', () => hung.delete(res));
      return;
    }
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    got.answered = answer.status;
    res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.status < 300 ? 'ok' : 'receiver trouble');
  };
  await receiver.up();
  return receiver;
}

/** Each case's events as the receiver got them, in arrival order: reference → cursors. */
export function arrivalsByCase(received: ReceivedWebhook[]): Map<string, string[]> {
  const byCase = new Map<string, string[]>();
  for (const r of received) {
    const ref = r.event.data.case?.reference;
    if (!ref || !r.event.cursor) continue;
    byCase.set(ref, [...(byCase.get(ref) ?? []), r.event.cursor]);
  }
  return byCase;
}

/** Arrival order with a redelivery's repeat folded: each event after the one before it. */
export function inOrder(cursors: string[]): boolean {
  const folded = cursors.filter((c, i) => c !== cursors[i - 1]);
  return folded.every((c, i) => i === 0 || BigInt(c) > BigInt(folded[i - 1]!));
}
