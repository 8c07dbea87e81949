/**
 * What the web server and its route modules are given: the rooms' deps and the edges' callbacks.
 * Its own module so that the route modules, which take it, and server.ts, which registers them,
 * do not import each other.
 */
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { ApprovalDeps } from '../approvals/context';
import type { CaseworkDeps } from '../cases/work-common';
import type { TrustProxy } from '../config/trust-proxy';
import type { Db } from '../db/connection';
import type { CapturedMail } from '../intake/dev-smtp';
import type { IntakeDeps } from '../intake/filing';
import type { Metrics } from '../ops/metrics';
import type { QueueCounts } from '../queue/bullmq';
import type { StreamHead } from '../webhooks/deliveries';
import type { CaseFeedOptions } from './case-feed';
import type { PageRenderer } from './pages';
import type { HealthReport } from './routes/health';
import type { UploadLimits } from './uploads';

export interface WebDeps {
  db: Db;
  log: Logger;
  apiToken: string;
  health: () => Promise<HealthReport>;
  approvals: ApprovalDeps;
  /** Replies, notes, assignment, status, comments, escalations. */
  casework: CaseworkDeps;
  pages: PageRenderer;
  enqueueDeliveries(outboxIds: string[]): Promise<void>;
  /**
   * Queues matching of cases written by a committed transaction (a portal comment's follow-up
   * case). Never throws: a case left unqueued stays `new`, and the recovery sweep queues it.
   */
  matchLater(caseIds: string[]): Promise<void>;
  /** Intake dependencies, for retrying quarantined messages (POST /api/quarantine/:id/retry). */
  intake?: IntakeDeps;
  metrics?: Metrics;
  /** A reply's or a comment's files: MAX_MESSAGE_BYTES each, 10 at most, unless a test says otherwise. */
  uploadLimits?: UploadLimits;
  /** A staff reply was a case's first, `seconds` after the case arrived (the first-response histogram). */
  onFirstResponse?: (seconds: number) => void;
  metricsToken?: string | null;
  /** The development SMTP server's captured mail, shown at /dev/mail (demo only). */
  devMail?: CapturedMail[];
  staffSessionTtlMs: number;
  /** The dashboard turns red when intake is disconnected or decisions lag this long. */
  intakeAlertAfterMs: number;
  /** How often the overview's live numbers refresh (5 s unless a test says otherwise). */
  liveRefreshMs?: number;
  /** The live case list's poller: every second, a heartbeat every 15 s, 100 streams a process, unless a test says otherwise. */
  caseFeed?: Partial<CaseFeedOptions>;
  /** PORTAL_LINK_TTL and PORTAL_SESSION_TTL. */
  portalLinkTtlMs?: number;
  portalSessionTtlMs?: number;
  /** TRUST_PROXY: whose X-Forwarded-* headers are believed; none when absent. */
  trustProxy?: TrustProxy;
  /** The job queues, for the overview's counts and Bull Board; absent in tests of the web alone. */
  queues?: { counts(): Promise<Record<string, QueueCounts>>; boardQueues(): Queue[] };
  /**
   * Brings the event feed up to date before a read, queueing the webhooks' new deliveries; the
   * events module's relay alone when absent (tests of the web).
   */
  relayEvents?: () => Promise<unknown>;
  /** Queues delivery of webhook streams (a redelivery from the dashboard); the sweep does it when absent. */
  deliverWebhooks?: (heads: StreamHead[]) => Promise<void>;
}

/** A reply's or a comment's files: MAX_MESSAGE_BYTES each, 10 at most, unless a test says otherwise. */
export const uploadLimits = (deps: Pick<WebDeps, 'uploadLimits' | 'approvals'>): UploadLimits => deps.uploadLimits ?? { fileBytes: deps.approvals.settings.maxMessageBytes, files: 10 };
