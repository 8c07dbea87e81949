/**
 * Domain errors carry a code the edges translate: the HTTP layer into a status, the CLI into an
 * exit code and a one-line message. Anything else that escapes is a bug and is logged as such.
 */
export type DomainErrorCode = 'invalid_input' | 'forbidden' | 'not_found' | 'conflict' | 'unavailable';

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: string[] = [],
  ) {
    super(details.length ? `${message}\n${details.map((d) => `  - ${d}`).join('\n')}` : message);
    this.name = 'DomainError';
  }
}

/** What a thrown value says, for a log line or a stored error: its message, whatever was thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
