/** The audit trail (owned by audit/). Part of `Database` (schema.ts). */
import type { ColumnType } from 'kysely';
import type { Id, Int8, OptionalInt8, Timestamp } from './columns';

export interface AuditLogTable {
  id: Id;
  at: Timestamp;
  actor: string;
  channel: string;
  action: string;
  company_id: Int8 | null;
  infrastructure_id: Int8 | null;
  case_id: Int8 | null;
  approval_id: Int8 | null;
  subject_email: string | null;
  detail: ColumnType<Record<string, unknown>, string | undefined, string>;
  /** As case_events.event_id. */
  event_id: OptionalInt8;
}
