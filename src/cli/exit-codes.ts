/** sysexits(3) codes: an MTA piping into `ingest` retries on 75 and bounces on the others. */
export const EXIT = { ok: 0, failure: 1, usage: 64, dataError: 65, unavailable: 69, tempFail: 75, config: 78 } as const;

/** What each code means, for `case-intake --help` (README.md has the same table, longer). */
export const EXIT_MEANINGS: ReadonlyArray<readonly [number, string]> = [
  [EXIT.ok, 'success'],
  [EXIT.failure, 'unexpected failure (any command but ingest)'],
  [EXIT.usage, 'usage error: unknown command, wrong arguments, no command'],
  [EXIT.dataError, 'bad data: an invalid directory file, an empty message, an unknown id'],
  [EXIT.unavailable, 'unavailable: PostgreSQL or Redis unreachable, the database missing'],
  [EXIT.tempFail, 'temporary failure, ingest only: the message was not stored; the MTA retries'],
  [EXIT.config, 'configuration error, every problem listed'],
];
