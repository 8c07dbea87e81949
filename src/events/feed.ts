import type { DbOrTx } from '../db/connection';

/** An event as the feed and a webhook's body show it. */
export interface PublicEvent {
  id: string;
  type: string;
  timestamp: string;
  cursor: string;
  data: Record<string, unknown>;
}

/** The public id of event row `id`: the same in the feed and in a webhook's `webhook-id`. */
export const eventId = (id: string): string => `evt_${id}`;

/** Events after `cursor` (an event's cursor; none: from the first), oldest first. */
export async function eventsAfter(db: DbOrTx, cursor: string | null, limit: number): Promise<PublicEvent[]> {
  const rows = await db
    .selectFrom('events')
    .select(['id', 'type', 'occurred_at', 'data'])
    .$if(cursor !== null, (q) => q.where('id', '>', cursor!))
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map(toPublicEvent);
}

/** An `events` row as the feed and a webhook's body show it. */
export function toPublicEvent(r: { id: string; type: string; occurred_at: Date; data: Record<string, unknown> }): PublicEvent {
  return { id: eventId(r.id), type: r.type, timestamp: r.occurred_at.toISOString(), cursor: r.id, data: r.data };
}
