import { parseArgs } from 'node:util';
import type { Config } from '../config/config';
import { createDb } from '../db/connection';
import { migrateToLatest } from '../db/migrate';
import { DomainError, errorMessage } from '../errors';
import { sendTestEvent } from '../webhooks/deliver';
import { addEndpoint, listEndpoints, removeEndpoint, webhookSecretBox } from '../webhooks/endpoints';
import { UsageError } from './usage-error';

export const WEBHOOKS_USAGE = `  webhooks add URL [--events TYPE[,TYPE]]
                                   send events to URL (all types unless --events); prints the
                                   endpoint's id and its signing secret, shown only this once
  webhooks list                    list endpoints (id, URL, event types, pending, failed,
                                   delivered, last delivered; tab-separated)
  webhooks remove ID               remove an endpoint; its undelivered events are not sent
  webhooks test ID                 send a signed webhook.test event now; exits 0 on a 2xx
                                   answer, 69 otherwise`;

const usage = () => new UsageError(`usage:\n${WEBHOOKS_USAGE}`);

/** `webhooks add|list|remove|test`: returns the exit code. */
export async function webhooksCommand(args: string[], config: Config): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { events: { type: 'string' } } });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  const { positionals, values } = parsed;
  const [sub, arg, ...extra] = positionals;
  if (extra.length || !sub || (sub === 'list') !== (arg === undefined) || (values.events !== undefined && sub !== 'add')) throw usage();
  const db = createDb(config.databaseUrl, { max: 1 });
  const box = webhookSecretBox([config.linkSecret, config.linkSecretPrevious]);
  try {
    await migrateToLatest(db);
    switch (sub) {
      case 'add': {
        const eventTypes = values.events === undefined ? null : values.events.split(',').map((t) => t.trim()).filter(Boolean);
        const { id, secret } = await addEndpoint(db, box, { url: arg!, eventTypes });
        console.log(`added endpoint ${id} (${eventTypes ? eventTypes.join(', ') : 'all events'})`);
        console.log(`secret: ${secret}`);
        console.log('Store the secret with the receiver now: it is not shown again. The receiver checks each request with it (README, "Connecting a help desk").');
        return 0;
      }
      case 'list': {
        const endpoints = await listEndpoints(db);
        if (!endpoints.length) console.log('no webhook endpoints (add one with `case-intake webhooks add URL`)');
        for (const e of endpoints) console.log([e.id, e.url, e.eventTypes?.join(',') ?? 'all', e.pending, e.failed, e.delivered, e.lastDeliveredAt?.toISOString() ?? '-'].join('\t'));
        return 0;
      }
      case 'remove':
        if (!(await removeEndpoint(db, arg!))) throw new DomainError('not_found', `no webhook endpoint ${arg!} (see \`case-intake webhooks list\`)`);
        console.log(`removed endpoint ${arg!}`);
        return 0;
      case 'test': {
        const outcome = await sendTestEvent(db, box, arg!, config.webhooks.timeoutMs);
        if (!outcome) throw new DomainError('not_found', `no webhook endpoint ${arg!} (see \`case-intake webhooks list\`)`);
        if (outcome.ok) {
          console.log(`delivered: HTTP ${outcome.status} in ${outcome.ms} ms`);
          return 0;
        }
        console.log(`not delivered: ${outcome.error}`);
        return 69;
      }
      default:
        throw usage();
    }
  } finally {
    await db.destroy();
  }
}
