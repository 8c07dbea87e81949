import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { ImapTarget } from './imap-target';
import { readMailAuth, type MailAuthConfig } from './mail-auth';
import { DEV_API_TOKEN, DEV_LINK_SECRET, publishedSecretsIn } from './published-secrets';
import { parseTrustProxy, type TrustProxy } from './trust-proxy';
import { isTimeZone } from '../dates';

/** VENDOR_NAME and VENDOR_LOGO_URL: who the customer deals with, on their pages and at the head of every mail. */
export interface Vendor {
  name: string;
  logoUrl: string | null;
}

export interface Display {
  /** null: UTC in mails and in the server's page text, which the browser rewrites in the viewer's zone. */
  timeZone: string | null;
  vendor: Vendor;
}

/** With nothing set: UTC, and "Support" (today's "Support portal" and the mail From name's default). */
export const DEFAULT_DISPLAY: Display = { timeZone: null, vendor: { name: 'Support', logoUrl: null } };

/** A configuration problem found at start; one line per problem, never a secret's value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const DURATION_UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `15m`, `24h`, `7d`, `2w` (or a plain number of seconds) → milliseconds; null if unreadable. */
export function parseDuration(value: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/i.exec(value);
  if (!m) return null;
  const ms = Number(m[1]) * DURATION_UNITS_MS[(m[2] || 's').toLowerCase()]!;
  return ms > 0 ? ms : null;
}

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === null) ctx.addIssue({ code: 'custom', message: 'must be a duration such as 90s, 15m, 24h or 7d' });
      return ms ?? 0;
    });

const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const DEFAULT_IMAP_URL = 'imap://support:support@127.0.0.1:143/INBOX';
const DEFAULT_SMTP_URL = 'smtp://127.0.0.1:2525';
const splitUrls = (value: string) => value.split(/[\s,]+/).filter(Boolean);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/case_intake'),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  // Empty disables the watcher (the MTA pipe or the development SMTP server feed intake instead);
  // several URLs, separated by commas or spaces, are watched at once.
  // How they log in (IMAP_AUTH, SMTP_AUTH, OAUTH_*, or MAILBOXES_FILE instead) is read by mail-auth.ts.
  IMAP_URL: z.string().default(DEFAULT_IMAP_URL).transform(splitUrls).pipe(z.array(url(['imap:', 'imaps:']))),
  SMTP_URL: url(['smtp:', 'smtps:']).default(DEFAULT_SMTP_URL),
  SUPPORT_ADDRESS: z.email({ message: 'must be an email address' }).default('support@example.com'),
  PUBLIC_URL: url(['http:', 'https:']).default('http://127.0.0.1:3000'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Reverse proxies whose X-Forwarded-* headers are believed: unset none, a list of addresses/CIDRs, or a hop count. */
  TRUST_PROXY: z
    .string()
    .default('')
    .transform((v, ctx): TrustProxy => {
      const parsed = parseTrustProxy(v);
      if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
      return typeof parsed === 'string' ? { kind: 'none' } : parsed;
    }),
  LINK_SECRET: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  /** The secret before a rotation: links signed with it stay valid until they expire. */
  LINK_SECRET_PREVIOUS: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  APPROVAL_TTL: duration('7d'),
  /** A solved case closes after this; a reply to a case solved or closed longer ago starts a new case. */
  REOPEN_WINDOW: duration('7d'),
  /** Who is mailed when a customer escalates a case: its assignee (all staff while it has none), or all staff. */
  ESCALATION_NOTIFY: z.enum(['assignee', 'all']).default('assignee'),
  STAFF_SESSION_TTL: duration('12h'),
  /** How long a portal sign-in link (the one asked for on the sign-in page) stays usable. */
  PORTAL_LINK_TTL: duration('15m'),
  /** How long a portal sign-in lasts. */
  PORTAL_SESSION_TTL: duration('12h'),
  INTAKE_ALERT_AFTER: duration('5m'),
  DASHBOARD_REFRESH: duration('5s'),
  APPROVAL_REMIND_AFTER: duration('24h'),
  /** Approval mails (requests and reminders) per company per hour; the rest wait, held and visible. */
  APPROVAL_MAIL_PER_HOUR: z.coerce.number().int().min(1).default(30),
  /** authserv-id of the receiving server whose Authentication-Results header is trusted. */
  INBOUND_AUTHSERV_ID: z.string().min(1).optional(),
  SEND_CONCURRENCY: z.coerce.number().int().positive().default(4),
  /** While the watchers are more than a fetch behind, a send job waits up to this long (0: never). */
  SEND_YIELD_SECONDS: z.coerce.number().min(0).default(30),
  /** Larger messages are kept raw and their case held as too_large. */
  MAX_MESSAGE_BYTES: z.coerce.number().int().min(1024).default(25 * 1024 * 1024),
  /** Automatic answers (acknowledgement, held and released notices) to one address per hour. */
  AUTO_REPLY_PER_SENDER_PER_HOUR: z.coerce.number().int().min(0).default(10),
  /** More new cases than this from one sender within SENDER_CASE_WINDOW are held as rate_limited. */
  SENDER_CASE_LIMIT: z.coerce.number().int().min(1).default(20),
  SENDER_CASE_WINDOW: duration('10m'),
  API_TOKEN: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  /** Bearer token for /metrics; unset leaves /metrics open (bind it to a private network). */
  METRICS_TOKEN: z.string().min(16, { message: 'must be at least 16 characters' }).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Seconds between mailbox polls, the fallback for servers or networks where IDLE stalls. */
  IMAP_POLL_SECONDS: z.coerce.number().positive().default(30),
  /** `false`: never IDLE, only poll every IMAP_POLL_SECONDS (a server whose IDLE misbehaves; the bench's comparison). */
  IMAP_IDLE: z.enum(['true', 'false']).default('true'),
  /** Optional folder processed messages are moved to; unset keeps them in place, flagged \Seen. */
  IMAP_PROCESSED_FOLDER: z.string().optional(),
  MATCH_CONCURRENCY: z.coerce.number().int().positive().default(8),
  /** Webhook streams delivered at once per worker process (each stream is one at a time, in order). */
  WEBHOOK_CONCURRENCY: z.coerce.number().int().positive().default(4),
  /** An attempt with no answer by then has failed. */
  WEBHOOK_TIMEOUT: duration('10s'),
  /** The first retry of a failed delivery waits this long; each further one twice as long, up to WEBHOOK_RETRY_MAX. */
  WEBHOOK_RETRY_FIRST: duration('5s'),
  WEBHOOK_RETRY_MAX: duration('1h'),
  /** A delivery is retried this long after its first failure, then marked failed. */
  WEBHOOK_RETRY_FOR: duration('24h'),
  QUEUE_PREFIX: z.string().min(1).default('case-intake'),
  /** The zone pages and mails write times in; unset: UTC in mails, the viewer's own zone on pages. Empty is unset. */
  DISPLAY_TIME_ZONE: z.string().refine((v) => v === '' || isTimeZone(v), { message: 'must be an IANA time zone name such as Europe/Berlin or UTC' }).optional(),
  /** Who the customer deals with: named on every page and mail they see. */
  VENDOR_NAME: z.string().trim().min(1, { message: 'must not be empty' }).default(DEFAULT_DISPLAY.vendor.name),
  /** The vendor's logo beside the name (https in production; empty is unset). */
  VENDOR_LOGO_URL: url(['https:', 'http:']).or(z.literal('')).optional(),
  /** host:port for the embedded development SMTP server (demo); unset in production. */
  DEV_SMTP_LISTEN: z.string().regex(/^[^:]+:\d+$/, { message: 'must be host:port' }).optional(),
});

type RawConfig = z.infer<typeof schema>;

export type { ImapTarget } from './imap-target';
export { parseImapUrl } from './imap-target';

export interface Config {
  env: RawConfig['NODE_ENV'];
  databaseUrl: string;
  redisUrl: string;
  /** Every mailbox to watch (IMAP_URL or MAILBOXES_FILE lists them) and how each logs in; empty when none. */
  mailboxes: ImapTarget[];
  imapPollMs: number;
  /** IMAP_IDLE: wait on IDLE for new mail; false polls only. */
  imapIdle: boolean;
  imapProcessedFolder: string | null;
  smtpUrl: string;
  /** SMTP_AUTH=oauth2: SMTP_URL's user logs in with this credential; null for SMTP_AUTH=password. */
  smtpOAuth: MailAuthConfig['smtpOAuth'];
  supportAddress: string;
  publicUrl: string;
  host: string;
  port: number;
  /** TRUST_PROXY: whose X-Forwarded-For names the client. */
  trustProxy: TrustProxy;
  linkSecret: string;
  linkSecretPrevious: string | null;
  approvalTtlMs: number;
  /** REOPEN_WINDOW. */
  reopenWindowMs: number;
  /** ESCALATION_NOTIFY. */
  escalationNotify: 'assignee' | 'all';
  staffSessionTtlMs: number;
  /** PORTAL_LINK_TTL: life of a one-time portal sign-in link. */
  portalLinkTtlMs: number;
  /** PORTAL_SESSION_TTL: life of a portal session. */
  portalSessionTtlMs: number;
  /** The dashboard turns red when the mailbox has been disconnected, or decisions lag, this long. */
  intakeAlertAfterMs: number;
  /** How often an open dashboard overview gets new numbers. */
  dashboardRefreshMs: number;
  approvalRemindAfterMs: number;
  approvalMailPerHour: number;
  inboundAuthservId: string | null;
  sendConcurrency: number;
  /** SEND_YIELD_SECONDS: the longest a send job waits at a stretch for the watchers to catch up. */
  sendYieldMs: number;
  maxMessageBytes: number;
  autoRepliesPerSenderPerHour: number;
  senderCaseLimit: { max: number; windowMs: number };
  apiToken: string;
  metricsToken: string | null;
  logLevel: RawConfig['LOG_LEVEL'];
  matchConcurrency: number;
  /** WEBHOOK_*: how webhooks are delivered and retried. */
  webhooks: { concurrency: number; timeoutMs: number; retry: { firstMs: number; maxMs: number; forMs: number } };
  queuePrefix: string;
  devSmtp: { host: string; port: number } | null;
  /** DISPLAY_TIME_ZONE, VENDOR_NAME, VENDOR_LOGO_URL: how pages and mails name times and who sends them. */
  display: Display;
}

/**
 * Reads and validates the environment once. Every problem is reported, not just the first,
 * so an operator fixes a deployment in one go.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  // Read from the raw environment, so these are listed with the schema's problems, not after a second start.
  if (env.NODE_ENV === 'production') problems.push(...productionSecretProblems(env));
  if (env.NODE_ENV === 'production' && env.VENDOR_LOGO_URL?.startsWith('http:')) problems.push('VENDOR_LOGO_URL: must be https in production (a page over https cannot show an http image)');
  const mail = readMailAuth(env, { imap: splitUrls(env.IMAP_URL ?? DEFAULT_IMAP_URL), smtp: env.SMTP_URL ?? DEFAULT_SMTP_URL });
  problems.push(...mail.problems);
  if (!parsed.success || problems.length) throw new ConfigError(problems);
  const c = parsed.data;

  let devSmtp: Config['devSmtp'] = null;
  if (c.DEV_SMTP_LISTEN) {
    const [host, port] = c.DEV_SMTP_LISTEN.split(':') as [string, string];
    devSmtp = { host, port: Number(port) };
  }
  return {
    env: c.NODE_ENV,
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    mailboxes: mail.config.mailboxes,
    imapPollMs: c.IMAP_POLL_SECONDS * 1000,
    imapIdle: c.IMAP_IDLE === 'true',
    imapProcessedFolder: c.IMAP_PROCESSED_FOLDER || null,
    smtpUrl: c.SMTP_URL,
    smtpOAuth: mail.config.smtpOAuth,
    supportAddress: c.SUPPORT_ADDRESS.toLowerCase(),
    publicUrl: c.PUBLIC_URL.replace(/\/$/, ''),
    host: c.HOST,
    port: c.PORT,
    trustProxy: c.TRUST_PROXY,
    linkSecret: c.LINK_SECRET ?? DEV_LINK_SECRET,
    linkSecretPrevious: c.LINK_SECRET_PREVIOUS ?? null,
    approvalTtlMs: c.APPROVAL_TTL,
    reopenWindowMs: c.REOPEN_WINDOW,
    escalationNotify: c.ESCALATION_NOTIFY,
    staffSessionTtlMs: c.STAFF_SESSION_TTL,
    portalLinkTtlMs: c.PORTAL_LINK_TTL,
    portalSessionTtlMs: c.PORTAL_SESSION_TTL,
    intakeAlertAfterMs: c.INTAKE_ALERT_AFTER,
    dashboardRefreshMs: c.DASHBOARD_REFRESH,
    approvalRemindAfterMs: c.APPROVAL_REMIND_AFTER,
    approvalMailPerHour: c.APPROVAL_MAIL_PER_HOUR,
    inboundAuthservId: c.INBOUND_AUTHSERV_ID ?? null,
    sendConcurrency: c.SEND_CONCURRENCY,
    sendYieldMs: c.SEND_YIELD_SECONDS * 1000,
    maxMessageBytes: c.MAX_MESSAGE_BYTES,
    autoRepliesPerSenderPerHour: c.AUTO_REPLY_PER_SENDER_PER_HOUR,
    senderCaseLimit: { max: c.SENDER_CASE_LIMIT, windowMs: c.SENDER_CASE_WINDOW },
    apiToken: c.API_TOKEN ?? DEV_API_TOKEN,
    metricsToken: c.METRICS_TOKEN ?? null,
    logLevel: c.LOG_LEVEL,
    matchConcurrency: c.MATCH_CONCURRENCY,
    webhooks: { concurrency: c.WEBHOOK_CONCURRENCY, timeoutMs: c.WEBHOOK_TIMEOUT, retry: { firstMs: c.WEBHOOK_RETRY_FIRST, maxMs: c.WEBHOOK_RETRY_MAX, forMs: c.WEBHOOK_RETRY_FOR } },
    queuePrefix: c.QUEUE_PREFIX,
    devSmtp,
    display: { timeZone: c.DISPLAY_TIME_ZONE || null, vendor: { name: c.VENDOR_NAME, logoUrl: c.VENDOR_LOGO_URL || null } },
  };
}

/** In production every secret is the operator's own: present, and none the repository publishes. */
function productionSecretProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  if (env.LINK_SECRET === undefined) problems.push('LINK_SECRET: required in production (at least 32 characters)');
  if (env.API_TOKEN === undefined) problems.push('API_TOKEN: required in production (at least 16 characters)');
  for (const name of publishedSecretsIn(env)) {
    problems.push(`${name}: is a value published in the case-intake repository (a development default or an example), known to anyone who read it; set your own (openssl rand -hex 32)`);
  }
  return problems;
}

/** Loads `.env` from the working directory, if there is one, without overriding the real environment. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}
