import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { DbOrTx, Tx } from '../db/connection';
import { lockKeys } from '../db/locks';
import { secretsOf, type MailKind, type MailProps, type RenderedMail } from './kinds';
import { assertNoSecret, withPlaceholders, type OutboxSealer } from './sealed-secrets';

export interface Renderer {
  render<K extends MailKind>(kind: K, props: MailProps[K]): RenderedMail;
}

/** What the outbox needs to know to write and later send a mail. */
export interface OutboxContext {
  renderer: Renderer;
  /** The support address: the From of every mail, and the domain of every Message-ID. */
  supportAddress: string;
  /** AUTO_REPLY_PER_SENDER_PER_HOUR: automatic answers to one address per hour, at most. */
  autoRepliesPerHour: number;
  /** Seals a mail's secret parts (its links) for the send; LINK_SECRET's key, which is not in the database. */
  sealer: OutboxSealer;
}

/** Mail that answers whoever wrote in: the kinds an auto-responder loop would bounce back and forth. */
const ANSWERS: ReadonlySet<MailKind> = new Set(['acknowledgement', 'held_notice', 'approval_expired_notice', 'released_notice', 'approval_reply_undecided']);

export interface OutboxMail<K extends MailKind> {
  kind: K;
  props: MailProps[K];
  to: string;
  caseId?: string | null;
  approvalId?: string | null;
  companyId?: string | null;
  /** The message this one answers: sets In-Reply-To and References so mail clients thread them. */
  inReplyTo?: string | null;
  references?: string[];
  replyTo?: string | null;
  /** Cc of a person's mail (a staff reply's participants). */
  cc?: string[];
  /** A Message-ID chosen beforehand (a staff reply's, written on its message row too); new otherwise. */
  messageId?: string;
  /** The message row whose attachments go with this mail. */
  attachmentsOf?: string | null;
}

/** The ids of the rows written, without the ones a ceiling held back. */
export function written(...ids: Array<string | null>): string[] {
  return ids.filter((id): id is string => id !== null);
}

export function newMessageId(supportAddress: string): string {
  return `${randomUUID()}@${supportAddress.split('@')[1]}`;
}

/** One mail of any kind, its props checked against its kind. */
export type AnyMail = { [K in MailKind]: OutboxMail<K> }[MailKind];

/**
 * Renders a mail and writes it as an outbox row inside the caller's transaction, so the mail
 * exists exactly when the state change that caused it commits. Returns the row id to queue, or
 * null when the per-address ceiling on automatic answers holds this one back: whatever the other
 * side runs (an auto-responder we failed to recognise), the exchange stops within the ceiling.
 */
export async function addToOutbox<K extends MailKind>(tx: Tx, ctx: OutboxContext, mail: OutboxMail<K>): Promise<string | null> {
  return (await addAllToOutbox(tx, ctx, [mail as AnyMail]))[0]!;
}

/**
 * `addToOutbox` for several mails caused by one change (a case's acknowledgement and its copies,
 * one approval's requests): one insert for all of them, since each round trip to PostgreSQL
 * costs more than the rows it carries. Ids in the order given, null where the ceiling held one back.
 */
export async function addAllToOutbox(tx: Tx, ctx: OutboxContext, mails: AnyMail[]): Promise<Array<string | null>> {
  const sentLastHour = await answersLastHour(tx, mails.filter((mail) => ANSWERS.has(mail.kind)).map((mail) => mail.to));
  const admitted: boolean[] = [];
  const admittedNow = new Map<string, number>();
  for (const mail of mails) {
    if (!ANSWERS.has(mail.kind)) {
      admitted.push(true);
      continue;
    }
    const earlier = admittedNow.get(mail.to) ?? 0;
    const ok = (sentLastHour.get(mail.to) ?? 0) + earlier < ctx.autoRepliesPerHour;
    admitted.push(ok);
    if (ok) admittedNow.set(mail.to, earlier + 1);
  }
  const rows = mails.flatMap((mail, i) => (admitted[i] ? [outboxValues(ctx, mail)] : []));
  if (!rows.length) return mails.map(() => null);
  const inserted = await tx.insertInto('outbox').values(rows).returning(['id', 'message_id']).execute();
  // Matched by Message-ID (new and unique for each row), not by the order rows come back in.
  const idOf = new Map(inserted.map((r) => [r.message_id, r.id]));
  let next = 0;
  return admitted.map((ok) => (ok ? idOf.get(rows[next++]!.message_id)! : null));
}

/**
 * The row of one mail. Its secret parts (`secretsOf`) are stored as placeholders, the values
 * sealed beside them (`sealed_secrets`), put back by the send and dropped once it is done.
 */
function outboxValues(ctx: OutboxContext, mail: AnyMail) {
  const values = secretsOf(mail.props);
  const secrets = values.length ? { nonce: randomBytes(8).toString('hex'), values } : null;
  const props = secrets ? withPlaceholders(mail.props, secrets) : mail.props;
  const replyTo = mail.replyTo && secrets ? withPlaceholders(mail.replyTo, secrets) : (mail.replyTo ?? null);
  const rendered = ctx.renderer.render(mail.kind, props as never);
  if (secrets) assertNoSecret([rendered.subject, rendered.text, rendered.html, replyTo], values);
  const references = [...(mail.references ?? []), ...(mail.inReplyTo ? [mail.inReplyTo] : [])];
  return {
    kind: mail.kind,
    case_id: mail.caseId ?? null,
    approval_id: mail.approvalId ?? null,
    company_id: mail.companyId ?? null,
    to_address: mail.to,
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
    message_id: mail.messageId ?? newMessageId(ctx.supportAddress),
    in_reply_to: mail.inReplyTo ?? null,
    references: references.length ? [...new Set(references)].map((r) => `<${r}>`).join(' ') : null,
    reply_to: replyTo,
    sealed_secrets: secrets ? ctx.sealer.seal(secrets) : null,
    cc_addresses: mail.cc?.length ? mail.cc : null,
    message_ref: mail.attachmentsOf ?? null,
    sent_at: null,
  };
}

/** Automatic answers written to each address in the last hour, each counted under the address's lock. */
function answersLastHour(tx: Tx, addresses: string[]): Promise<Map<string, number>> {
  return lockedMailCounts(tx, 'answers', 'to_address', addresses, [...ANSWERS]);
}

/** Approval mails written for each company in the last hour (the flood cap counts these), under the company's lock. */
export function approvalMailsLastHour(tx: Tx, companyIds: string[]): Promise<Map<string, number>> {
  return lockedMailCounts(tx, 'approval-mail', 'company_id', companyIds, ['approval_request', 'approval_reminder']);
}

/**
 * Mail of these kinds written in the last hour, by the value of `column` (an address, a company)
 * for each key, counted under the advisory lock `case-intake:<scope>:<key>` held for the rest of
 * the transaction (`lockKeys`): concurrent writers would otherwise all see room under a cap and
 * all write. The count is a statement of its own because a statement's snapshot predates the
 * locks it waits for. Keys with no such mail are absent.
 */
export async function lockedMailCounts(tx: Tx, scope: string, column: 'to_address' | 'company_id', keys: string[], kinds: MailKind[]): Promise<Map<string, number>> {
  const sorted = await lockKeys(tx, scope, keys);
  if (!sorted.length) return new Map();
  const rows = await tx
    .selectFrom('outbox')
    .select((eb) => [eb.ref(column).as('key'), eb.fn.countAll<string>().as('n')])
    .where(column, 'in', sorted)
    .where('kind', 'in', kinds)
    .where('created_at', '>', sql<Date>`now() - interval '1 hour'`)
    .groupBy(column)
    .execute();
  return new Map(rows.map((r) => [String(r.key), Number(r.n)]));
}

function selectOutbox(db: DbOrTx) {
  return db.selectFrom('outbox').leftJoin('cases', 'cases.id', 'outbox.case_id').selectAll('outbox').select('cases.reference as case_reference');
}

/** An outbox row, with its case's reference for the log line that follows its delivery. */
export type OutboxRow = Awaited<ReturnType<ReturnType<typeof selectOutbox>['executeTakeFirstOrThrow']>>;

/** Outbox rows by id (missing ones absent), in one statement. */
export async function loadOutboxRows(db: DbOrTx, ids: string[]): Promise<Map<string, OutboxRow>> {
  if (!ids.length) return new Map();
  const rows = await selectOutbox(db).where('outbox.id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * The row of a mail the server took although its commit failed (PostgreSQL restarted at that
 * moment): `sent` if still `pending`, so the retry does not send it again.
 */
export async function markSent(db: DbOrTx, id: string): Promise<void> {
  await db.updateTable('outbox').set({ status: 'sent', sent_at: sql`now()`, last_error: null, sealed_secrets: null }).where('id', '=', id).where('status', '=', 'pending').execute();
}

/**
 * The servers' answers to committed sends, for the record (the rows are already `sent`), in the
 * statement that also drops the rows' sealed links: sent, they are needed no more.
 */
export async function recordResponses(db: DbOrTx, answers: Array<{ id: string; response: string }>): Promise<void> {
  if (!answers.length) return;
  await sql`
    update outbox o set smtp_response = v.response, sealed_secrets = null
    from unnest(${answers.map((a) => a.id)}::bigint[], ${answers.map((a) => a.response.slice(0, 1000))}::text[]) as v(id, response)
    where o.id = v.id and o.status = 'sent'`.execute(db);
}

/**
 * A failed attempt: attempts + 1 and the error; `failed` when final. `from` is the status the
 * attempt left the row in: `pending` (it failed before the commit point), `sent` (the commit was
 * made but the server did not take the message) or `either` (the commit's answer was lost with
 * its connection); a `sent` row goes back to `pending` to be retried.
 */
export async function recordFailure(db: DbOrTx, id: string, error: string, final: boolean, from: 'pending' | 'sent' | 'either' = 'pending'): Promise<void> {
  const status = final ? ('failed' as const) : ('pending' as const);
  await db
    .updateTable('outbox')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error.slice(0, 1000), status, sent_at: null, ...(final ? { sealed_secrets: null } : {}) }))
    .where('id', '=', id)
    .where('status', 'in', from === 'either' ? ['pending', 'sent'] : [from])
    .execute();
}

/**
 * Drops the sealed links of rows whose send is over (sent, failed, bounced) but kept them: a
 * process stopped between a send and the record of its answer. For the periodic sweep; the
 * partial index `outbox_sealed` holds only rows that still have them.
 */
export async function dropSealedSecretsOfDoneRows(db: DbOrTx): Promise<number> {
  const r = await db.updateTable('outbox').set({ sealed_secrets: null }).where('sealed_secrets', 'is not', null).where('status', '<>', 'pending').executeTakeFirst();
  return Number(r.numUpdatedRows);
}
