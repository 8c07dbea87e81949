import { createHash } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';

/**
 * `column = any($1)`: a list of any length as ONE parameter. An `in (…)` list spends a parameter
 * per value and PostgreSQL takes at most 65 535 a statement, which one header line can exceed
 * (a Cc of 70 000 addresses, References with 100 000 ids).
 */
export function isAnyOf(column: string, values: readonly string[]): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(column)} = any(${[...values]}::text[])`;
}

/**
 * Splits items, in order, into groups of at most `maxCount` items and `maxBytes` bytes (an item
 * larger than `maxBytes` is a group of its own). A multi-row statement holds its whole group in
 * one message to PostgreSQL, and a fetch its whole range in memory: this is what bounds both.
 */
export function groupBySize<T>(items: T[], sizeOf: (item: T) => number, maxCount: number, maxBytes: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length && (current.length >= maxCount || bytes + size > maxBytes)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length) groups.push(current);
  return groups;
}

/** Bytes of row data one multi-row INSERT carries at most (a larger row goes alone). */
export const MAX_STATEMENT_BYTES = 4 * 1024 * 1024;

/**
 * A stable name for a set of ids, the same every time it is derived from the same list: the id
 * itself for one, else the first id, the count and a digest of all. Job ids and stored batch keys
 * are made of it, so adding the same work twice finds the first.
 */
export function batchKey(ids: readonly string[]): string {
  if (ids.length === 1) return ids[0]!;
  return `${ids[0]}+${ids.length}-${createHash('sha1').update(ids.join(',')).digest('hex').slice(0, 12)}`;
}
