import type { Config } from '../config/config';
import { createDb, type Db } from '../db/connection';
import { migrateToLatest } from '../db/migrate';
import { EXIT } from './exit-codes';

/** `migrate` */
export async function migrate(config: Config): Promise<number> {
  const db = createDb(config.databaseUrl, { max: 2 });
  try {
    const results = await migrateToLatest(db);
    console.log(results.length ? results.map((r) => `applied ${r.migrationName}`).join('\n') : 'database is up to date');
  } finally {
    await db.destroy();
  }
  return EXIT.ok;
}

/** A one-shot command's database, its pending migrations applied first, closed when `use` is done. */
export async function withMigratedDb<T>(config: Config, use: (db: Db) => Promise<T>): Promise<T> {
  const db = createDb(config.databaseUrl, { max: 1 });
  try {
    await migrateToLatest(db);
    return await use(db);
  } finally {
    await db.destroy();
  }
}
