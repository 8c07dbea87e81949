/**
 * The mail of a chaos run: a generated directory (one company, two infrastructure
 * administrators who are asked for approvals, many members) and a mix of messages appended to
 * the private Dovecot's INBOX as deliveries would, every Message-ID remembered.
 */
import { ImapFlow } from 'imapflow';
import type { DovecotServer } from '../support/dovecot';
import { makeMessage } from '../support/messages';

export const SUPPORT_ADDRESS = 'support@support.example.com';
export const INFRA_ADDRESS = 'chaos-prod@support.example.com';
export const APPROVERS = ['admin1@chaos.test', 'admin2@chaos.test'];
const MEMBERS = Array.from({ length: 40 }, (_, i) => `member${i}@chaos.test`);

export function chaosDirectory(): unknown {
  return {
    companies: [
      {
        key: 'chaos',
        name: 'Chaos Corporation',
        domains: ['chaos.test'],
        contacts: [
          { email: APPROVERS[0], name: 'Admin One', companyRole: 'member', status: 'active' },
          { email: APPROVERS[1], name: 'Admin Two', companyRole: 'member', status: 'active' },
          ...MEMBERS.map((email, i) => ({ email, name: `Member ${i}`, companyRole: 'member', status: 'active' })),
        ],
        infrastructures: [
          {
            key: 'chaos-prod',
            name: 'Chaos Production',
            default: true,
            addresses: [INFRA_ADDRESS],
            permissions: [
              { email: APPROVERS[0], role: 'administrator', ccAllCases: true },
              { email: APPROVERS[1], role: 'administrator' },
              ...MEMBERS.map((email) => ({ email, role: 'user' })),
            ],
          },
        ],
      },
    ],
  };
}

export type MessageKind = 'member' | 'stranger' | 'automatic';

/**
 * Message `i` of a run: about 70% from members (opened; an acknowledgement and a copy for the
 * CC-all administrator), 20% from strangers (held; an approval request to both administrators,
 * or a held notice while one is pending), 10% automatic replies (kept, never a case). A stranger
 * writes about twice, so later mail joins a pending request or, once authorized, opens.
 */
export function chaosMessage(run: string, i: number, strangers: number): { id: string; kind: MessageKind; raw: Buffer } {
  const id = `chaos-${run}-${i}`;
  const roll = i % 10;
  if (roll === 9) {
    const raw = makeMessage({ from: MEMBERS[i % MEMBERS.length]!, subject: `Out of office: chaos ${i}`, id })
      .toString()
      .replace('MIME-Version', 'Auto-Submitted: auto-replied\r\nMIME-Version');
    return { id: `${id}@tests.case-intake.test`, kind: 'automatic', raw: Buffer.from(raw) };
  }
  if (roll === 3 || roll === 7) {
    // Stranger k writes messages 2k and 2k+1 of the strangers' share, and again `strangers` later.
    const from = `stranger${(2 * Math.floor(i / 10) + (roll === 7 ? 1 : 0)) % strangers}@outside.test`;
    return { id: `${id}@tests.case-intake.test`, kind: 'stranger', raw: makeMessage({ from, to: INFRA_ADDRESS, subject: `chaos ${i} from a stranger`, id }) };
  }
  return { id: `${id}@tests.case-intake.test`, kind: 'member', raw: makeMessage({ from: MEMBERS[i % MEMBERS.length]!, to: INFRA_ADDRESS, subject: `chaos ${i}`, id }) };
}

/**
 * Appends messages over one IMAP connection, reconnecting (and appending again: a second copy of
 * the same message is what an MTA's retry would deliver) when the server goes away.
 */
export class Appender {
  /** Message-IDs the server accepted, with their kind. */
  readonly appended = new Map<string, MessageKind>();
  private client: ImapFlow | null = null;
  private next = 0;
  failures = 0;
  paused = false;

  constructor(
    private readonly dovecot: DovecotServer,
    private readonly run: string,
    private readonly strangers: number,
  ) {}

  get count(): number {
    return this.appended.size;
  }

  private async connection(): Promise<ImapFlow> {
    if (this.client?.usable) return this.client;
    this.client?.close();
    const client = new ImapFlow({ host: this.dovecot.host, port: this.dovecot.port, secure: false, auth: { user: this.dovecot.user, pass: this.dovecot.password }, logger: false });
    client.on('error', () => undefined);
    await client.connect();
    this.client = client;
    return client;
  }

  /** Appends the next message of the run, retrying until the server takes it. */
  async appendOne(): Promise<void> {
    const m = chaosMessage(this.run, this.next++, this.strangers);
    for (;;) {
      while (this.paused) await new Promise((r) => setTimeout(r, 100));
      try {
        const client = await this.connection();
        await client.append('INBOX', m.raw);
        this.appended.set(m.id, m.kind);
        return;
      } catch {
        this.failures++;
        this.client?.close();
        this.client = null;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Appends `n` messages at `perSecond`, or until `stop()` returns true. */
  async pace(n: number, perSecond: number, stop: () => boolean = () => false): Promise<number> {
    const started = Date.now();
    let i = 0;
    for (; i < n && !stop(); i++) {
      const wait = started + (i * 1000) / perSecond - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await this.appendOne();
    }
    return i;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (c) await c.logout().catch(() => c.close());
  }
}
