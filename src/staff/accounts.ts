import argon2 from 'argon2';
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';
import { DomainError } from '../errors';

export const MIN_PASSWORD_LENGTH = 12;

export interface StaffMember {
  id: string;
  email: string;
}

export function normaliseStaffEmail(email: string): string {
  const e = email.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e)) throw new DomainError('invalid_input', `not an email address: ${email}`);
  return e;
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new DomainError('invalid_input', `the password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > 1024) throw new DomainError('invalid_input', 'the password is longer than 1024 characters');
}

/** Adds a staff account, or sets a new password for an existing one (and ends its sessions). */
export async function setStaffPassword(db: DbOrTx, email: string, password: string): Promise<'added' | 'updated'> {
  const address = normaliseStaffEmail(email);
  checkPassword(password);
  // argon2id with the package's defaults (64 MiB, 3 passes): about 0.1 s here, far more for a guesser.
  const hash = await argon2.hash(password, { type: argon2.argon2id });
  const row = await db
    .insertInto('staff_accounts')
    .values({ email: address, password_hash: hash })
    .onConflict((oc) => oc.column('email').doUpdateSet({ password_hash: hash, updated_at: sql`now()` }))
    .returning(['id', sql<boolean>`xmax = 0`.as('inserted')])
    .executeTakeFirstOrThrow();
  if (!row.inserted) await db.deleteFrom('staff_sessions').where('staff_id', '=', row.id).execute();
  return row.inserted ? 'added' : 'updated';
}

/** Removes an account; its sessions go with it (foreign key cascade). */
export async function removeStaff(db: DbOrTx, email: string): Promise<boolean> {
  const r = await db.deleteFrom('staff_accounts').where('email', '=', normaliseStaffEmail(email)).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function listStaff(db: DbOrTx): Promise<Array<{ email: string; createdAt: Date; lastLoginAt: Date | null }>> {
  const rows = await db.selectFrom('staff_accounts').select(['email', 'created_at', 'last_login_at']).orderBy('email').execute();
  return rows.map((r) => ({ email: r.email, createdAt: r.created_at, lastLoginAt: r.last_login_at }));
}

// Verifying against a real hash when the account does not exist keeps the answer's timing from
// telling who has an account.
let decoyHash: Promise<string> | null = null;

/** The staff member whose password this is, or null; never says which of the two was wrong. */
export async function checkStaffLogin(db: DbOrTx, email: string, password: string): Promise<StaffMember | null> {
  let address: string;
  try {
    address = normaliseStaffEmail(email);
  } catch {
    return null;
  }
  const row = await db.selectFrom('staff_accounts').select(['id', 'email', 'password_hash']).where('email', '=', address).executeTakeFirst();
  decoyHash ??= argon2.hash('decoy password for unknown accounts', { type: argon2.argon2id });
  const ok = await argon2.verify(row?.password_hash ?? (await decoyHash), password.slice(0, 1024)).catch(() => false);
  if (!row || !ok) return null;
  await db.updateTable('staff_accounts').set({ last_login_at: sql`now()` }).where('id', '=', row.id).execute();
  return { id: row.id, email: row.email };
}
