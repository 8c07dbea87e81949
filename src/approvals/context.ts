import type { Logger } from 'pino';
import type { Db } from '../db/connection';
import type { OutboxContext } from '../mail/outbox';

export interface ApprovalSettings {
  publicUrl: string;
  linkSecret: string;
  linkSecretPrevious: string | null;
  ttlMs: number;
  remindAfterMs: number;
  mailPerHour: number;
  inboundAuthservId: string | null;
  maxMessageBytes: number;
}

/** What the approval workflow needs, built once in app.ts. */
export interface ApprovalDeps {
  db: Db;
  log: Logger;
  outbox: OutboxContext;
  settings: ApprovalSettings;
  /** Told of every decision once it is committed (metrics). */
  onDecided?: (decision: { channel: string; outcome: string; secondsToDecision: number }) => void;
}
