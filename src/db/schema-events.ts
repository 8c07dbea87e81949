/**
 * The tables of what the help desk hears: the public events (written by the relay alone) and
 * the webhook endpoints and their deliveries (webhooks/). Part of `Database` (schema.ts).
 */
import type { ColumnType, Generated } from 'kysely';
import type { Id, Int8, Timestamp } from './columns';

export interface EventsTable {
  id: Id;
  type: string;
  /** The ordering stream: case:<id>, approval:<id>, company:<id>. */
  stream: string;
  case_id: Int8 | null;
  occurred_at: Timestamp;
  data: ColumnType<Record<string, unknown>, string, string>;
  created_at: Generated<Date>;
}

export interface WebhookEndpointsTable {
  id: Id;
  url: string;
  /** The signing secret (`whsec_…`), sealed with a key derived from LINK_SECRET. */
  sealed_secret: Buffer;
  /** The event types it takes; null: all. */
  event_types: string[] | null;
  created_at: Generated<Date>;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDeliveriesTable {
  id: Id;
  endpoint_id: Int8;
  event_id: Int8;
  stream: string;
  status: ColumnType<DeliveryStatus, DeliveryStatus | undefined, DeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  /** Set by the first failed attempt; past it, a failure is the last: the row is `failed` and its stream moves on. */
  give_up_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  last_attempt_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** The receiver's HTTP status of the last attempt; null when it gave none (refused, timed out). */
  last_status: ColumnType<number | null, number | null | undefined, number | null>;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  delivered_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: Generated<Date>;
}
