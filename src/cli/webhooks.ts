import type { Config } from '../config/config';
import { DomainError } from '../errors';
import { sendTestEvent } from '../webhooks/deliver';
import { addEndpoint, listEndpoints, removeEndpoint, webhookSecretBox } from '../webhooks/endpoints';
import { EXIT } from './exit-codes';
import { withMigratedDb } from './database';

const secrets = (config: Config) => webhookSecretBox([config.linkSecret, config.linkSecretPrevious]);
const noSuchEndpoint = (id: string) => new DomainError('not_found', `no webhook endpoint ${id} (see \`case-intake webhooks list\`)`);

/** `webhooks add URL [--events TYPE[,TYPE]]` */
export async function webhooksAdd(config: Config, url: string, events: string | undefined): Promise<number> {
  const eventTypes = events === undefined ? null : events.split(',').map((t) => t.trim()).filter(Boolean);
  return withMigratedDb(config, async (db) => {
    const { id, secret } = await addEndpoint(db, secrets(config), { url, eventTypes });
    console.log(`added endpoint ${id} (${eventTypes ? eventTypes.join(', ') : 'all events'})`);
    console.log(`secret: ${secret}`);
    console.log('Store the secret with the receiver now: it is not shown again. The receiver checks each request with it (README, "Connecting a help desk").');
    return EXIT.ok;
  });
}

/** `webhooks list` */
export async function webhooksList(config: Config): Promise<number> {
  return withMigratedDb(config, async (db) => {
    const endpoints = await listEndpoints(db);
    if (!endpoints.length) console.log('no webhook endpoints (add one with `case-intake webhooks add URL`)');
    for (const e of endpoints) console.log([e.id, e.url, e.eventTypes?.join(',') ?? 'all', e.pending, e.failed, e.delivered, e.lastDeliveredAt?.toISOString() ?? '-'].join('\t'));
    return EXIT.ok;
  });
}

/** `webhooks remove ID` */
export async function webhooksRemove(config: Config, id: string): Promise<number> {
  return withMigratedDb(config, async (db) => {
    if (!(await removeEndpoint(db, id))) throw noSuchEndpoint(id);
    console.log(`removed endpoint ${id}`);
    return EXIT.ok;
  });
}

/** `webhooks test ID`: 0 on a 2xx answer, 69 otherwise. */
export async function webhooksTest(config: Config, id: string): Promise<number> {
  return withMigratedDb(config, async (db) => {
    const outcome = await sendTestEvent(db, secrets(config), id, config.webhooks.timeoutMs);
    if (!outcome) throw noSuchEndpoint(id);
    if (outcome.ok) {
      console.log(`delivered: HTTP ${outcome.status} in ${outcome.ms} ms`);
      return EXIT.ok;
    }
    console.log(`not delivered: ${outcome.error}`);
    return EXIT.unavailable;
  });
}
