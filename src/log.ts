import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * One JSON line per event. Secrets and message bodies are never passed to the logger; the
 * redaction below is a second line of defence for fields that could carry them by mistake.
 */
export function createLogger(level: string, destination: 1 | 2 | DestinationStream = 1): Logger {
  return pino(
    {
      level,
      base: { service: 'case-intake' },
      redact: { paths: ['password', 'token', 'authorization', 'req.headers.authorization', 'raw', 'text', 'html', '*.password', '*.token'], censor: '[redacted]' },
    },
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: destination === 2 }) : destination,
  );
}
