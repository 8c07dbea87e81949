import { Migrator, type MigrationResult } from 'kysely';
import { migrations } from '../../migrations';
import { errorMessage } from '../errors';
import type { Db } from './connection';

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * Applies pending migrations. Kysely's Migrator takes an advisory lock, so two processes that
 * start together apply each migration once; running it again is a no-op.
 */
export async function migrateToLatest(db: Db): Promise<MigrationResult[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    const message = errorMessage(error);
    // The driver's error stays the cause: its code (3D000, ECONNREFUSED) says what to do about it.
    throw new MigrationError(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${message}`, { cause: error });
  }
  return results ?? [];
}
