/**
 * Column types as kysely sees them, shared by the table interfaces of every schema-*.ts: what a
 * column reads as, what an insert and an update may give it.
 */
import type { ColumnType } from 'kysely';

/** Optional on insert: every timestamp column either defaults to now() or is set explicitly. */
export type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type Int8 = ColumnType<string, string | number | bigint, string | number | bigint>;
export type Id = ColumnType<string, never, never>;
/** A nullable bigint column that may be left out on insert. */
export type OptionalInt8 = ColumnType<string | null, string | number | bigint | null | undefined, string | number | bigint | null>;
