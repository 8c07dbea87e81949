import { Redis } from 'ioredis';

/**
 * Deletes every key under `prefix:` (BullMQ keeps a deployment's queues, jobs and schedules
 * there), for a demo or a test that starts afresh or cleans up after itself. SCAN in pages, so
 * a large Redis is not blocked; returns how many keys went.
 */
export async function deleteKeysUnder(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}
