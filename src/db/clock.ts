import { sql, type RawBuilder } from 'kysely';

/**
 * "At least `ms` ago" on the database's clock, the clock that wrote the timestamp columns:
 * comparing them with the process's clock would mix microseconds with milliseconds and two clocks.
 */
export function databaseTimeAgo(ms: number): RawBuilder<Date> {
  return sql<Date>`now() - make_interval(secs => ${ms / 1000})`;
}
