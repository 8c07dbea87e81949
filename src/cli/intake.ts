import type { Config } from '../config/config';
import { DomainError } from '../errors';
import { fileFromStream } from '../intake/ingest';
import { listQuarantine, rawMessageStatus, retryQuarantined } from '../intake/quarantine';
import { EXIT } from './exit-codes';
import { withContext } from './service';
import { UsageError } from './usage-error';

/** `ingest`: one message from standard input. */
export async function ingest(config: Config): Promise<number> {
  const input = (process.stdin as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first = await input.next();
  if (first.done || first.value.length === 0) throw new DomainError('invalid_input', 'no message on standard input');
  return withContext(config, async (ctx) => {
    // Read as it comes: a message over MAX_MESSAGE_BYTES streams into storage.
    const result = await fileFromStream(ctx.intake, (async function* () {
      yield first.value;
      for (let next = await input.next(); !next.done; next = await input.next()) yield next.value;
    })(), { source: 'pipe' });
    const said =
      result.outcome === 'case'
        ? `stored as ${result.reference}`
        : result.outcome === 'reply'
          ? result.holdReason
            ? `added to ${result.reference}, held (${result.holdReason})`
            : `added to ${result.reference}`
          : result.outcome === 'duplicate'
            ? 'already stored (duplicate)'
            : `stored (${result.outcome})`;
    console.log(said);
    return EXIT.ok;
  });
}

/** One line per value: tabs and line breaks inside a value would break the columns. */
const cell = (value: string | null): string => (value === null || value === '' ? '-' : value.replace(/[\t\r\n]+/g, ' '));

/** `quarantine list [--limit N]` */
export async function quarantineList(config: Config, limitValue: string | undefined): Promise<number> {
  const limit = limitValue === undefined ? 100 : /^\d+$/.test(limitValue) ? Number(limitValue) : NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000');
  return withContext(config, async (ctx) => {
    const messages = await listQuarantine(ctx.db, { limit });
    if (!messages.length) console.log('quarantine is empty');
    for (const m of messages) console.log([m.id, m.receivedAt, cell(m.from), cell(m.subject), cell(m.error)].join('\t'));
    return EXIT.ok;
  });
}

/** `quarantine retry ID` */
export async function quarantineRetry(config: Config, id: string): Promise<number> {
  return withContext(config, async (ctx) => {
    const result = await retryQuarantined(ctx.intake, id);
    if (result?.outcome === 'case') {
      console.log(`now ${result.reference}`);
      return EXIT.ok;
    }
    if (result?.outcome === 'kept') {
      console.log(`now kept (${result.kind})`);
      return EXIT.ok;
    }
    if (result?.outcome === 'quarantined') {
      console.log(`still quarantined: ${result.error}`);
      return EXIT.dataError;
    }
    // Not quarantined (or another process took it in at the same moment): say where it stands.
    const now = await rawMessageStatus(ctx.db, id);
    if (!now) throw new DomainError('not_found', `no stored message with id ${id} (see \`case-intake quarantine list\`)`);
    console.log(`not quarantined (status ${now.status}${now.reference ? `, ${now.reference}` : ''})`);
    return EXIT.ok;
  });
}
