import { readFile } from 'node:fs/promises';
import { directoryEffects } from '../approvals/admissions';
import type { Config } from '../config/config';
import { parseDirectoryFile } from '../directory/file-format';
import { importDirectory } from '../directory/import';
import { DomainError, errorMessage } from '../errors';
import { enqueueDeliveries } from '../queue/handlers';
import { EXIT } from './exit-codes';
import { withMigratedDb } from './database';
import { withContext } from './service';

/** `directory import FILE [--replace]` */
export async function directoryImport(config: Config, file: string, replace: boolean): Promise<number> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new DomainError('invalid_input', `cannot read ${file}: ${errorMessage(err)}`);
  }
  const directory = parseDirectoryFile(json);
  // Pending migrations first, on a connection of their own.
  await withMigratedDb(config, async () => undefined);
  // The service's context: an import that lets someone open cases releases their held cases
  // and mails them, as an approval does.
  return withContext(config, async (ctx) => {
    const s = await importDirectory(ctx.db, directory, { replace, effects: directoryEffects(ctx.approvals) });
    await enqueueDeliveries(ctx, s.outboxIds);
    console.log(
      `imported ${s.companies} companies, ${s.infrastructures} infrastructures, ${s.contacts} contacts, ${s.permissions} permissions` +
        (replace ? `; removed ${s.removedContacts} contacts, ${s.removedPermissions} permissions` : '') +
        (replace && (s.keptContacts || s.keptPermissions) ? `; kept ${s.keptContacts} contacts, ${s.keptPermissions} permissions made in the portal or by approval` : '') +
        (s.releasedCases ? `; released ${s.releasedCases} held cases` : ''),
    );
    return EXIT.ok;
  });
}
