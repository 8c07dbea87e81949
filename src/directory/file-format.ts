import { z } from 'zod';
import { DomainError } from '../errors';

/** The `directory import` file, as documented in the README. Emails and domains are normalised to lower case. */
const email = z.email().transform((e) => e.toLowerCase());
const domain = z
  .string()
  .regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, { message: 'must be a domain such as example.com' })
  .transform((d) => d.toLowerCase());
const key = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { message: 'must be letters, digits, ".", "_" or "-"' });

const permission = z.strictObject({
  email,
  role: z.enum(['administrator', 'user']),
  ccAllCases: z.boolean().default(false),
});

const infrastructure = z.strictObject({
  key,
  name: z.string().min(1),
  default: z.boolean().default(false),
  addresses: z.array(email).default([]),
  permissions: z.array(permission).default([]),
});

/**
 * A phone number as people write them: digits with spaces, dots, dashes, slashes, parentheses and
 * a leading "+"; 3 to 40 characters, at least 3 digits. Shared with the portal's member form.
 */
export const PHONE_PATTERN = /^\+?[0-9 ()./-]{3,40}$/;
export function isPhoneNumber(value: string): boolean {
  return PHONE_PATTERN.test(value) && (value.match(/[0-9]/g)?.length ?? 0) >= 3;
}
const phone = z
  .string()
  .trim()
  .refine(isPhoneNumber, { message: 'must be a phone number such as +44 20 7946 0000' });

const contact = z
  .strictObject({
    email,
    // Left out, a re-import keeps the name the contact has (set in the portal, say); null clears it.
    name: z.string().nullable().optional(),
    companyRole: z.enum(['admin', 'member']).default('member'),
    status: z.enum(['active', 'pending']).default('active'),
    // Both optional: left out, a re-import keeps what the portal set; null clears the phone.
    securityContact: z.boolean().optional(),
    phone: phone.nullable().optional(),
  })
  .refine((c) => !c.securityContact || Boolean(c.phone), { message: 'a security contact needs a phone number', path: ['phone'] });

const company = z.strictObject({
  key,
  name: z.string().min(1),
  domains: z.array(domain).default([]),
  contacts: z.array(contact).default([]),
  infrastructures: z.array(infrastructure).default([]),
});

const directoryFile = z.strictObject({ companies: z.array(company) });

export type DirectoryFile = z.infer<typeof directoryFile>;
export type CompanyEntry = DirectoryFile['companies'][number];

function duplicates(values: string[]): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const v of values) (seen.has(v) ? repeated : seen).add(v);
  return [...repeated];
}

/**
 * Validates a directory file and its cross-references (a permission must name one of the
 * company's contacts, keys and addresses are unique). Reports every problem at once.
 */
export function parseDirectoryFile(input: unknown): DirectoryFile {
  const parsed = directoryFile.safeParse(input);
  if (!parsed.success) {
    throw new DomainError(
      'invalid_input',
      'The directory file is not valid:',
      parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`),
    );
  }
  const file = parsed.data;
  const problems: string[] = [];
  const companies = file.companies;
  const infras = companies.flatMap((c) => c.infrastructures);
  for (const k of duplicates(companies.map((c) => c.key))) problems.push(`company key "${k}" appears more than once`);
  for (const k of duplicates(infras.map((i) => i.key))) problems.push(`infrastructure key "${k}" appears more than once`);
  for (const a of duplicates(infras.flatMap((i) => i.addresses))) problems.push(`address ${a} belongs to more than one infrastructure`);
  for (const c of companies) {
    const contacts = new Set(c.contacts.map((x) => x.email));
    for (const e of duplicates(c.contacts.map((x) => x.email))) problems.push(`company ${c.key}: contact ${e} is listed more than once`);
    const defaults = c.infrastructures.filter((i) => i.default);
    if (defaults.length > 1) problems.push(`company ${c.key}: more than one default infrastructure (${defaults.map((i) => i.key).join(', ')})`);
    for (const i of c.infrastructures) {
      for (const e of duplicates(i.permissions.map((p) => p.email))) problems.push(`infrastructure ${i.key}: permission for ${e} is listed more than once`);
      for (const p of i.permissions) {
        if (!contacts.has(p.email)) problems.push(`infrastructure ${i.key}: permission for ${p.email}, who is not a contact of company ${c.key}`);
      }
    }
  }
  if (problems.length) throw new DomainError('invalid_input', 'The directory file is not consistent:', problems);
  return file;
}
