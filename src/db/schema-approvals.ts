/**
 * The approval tables (owned by approvals/): a held stranger's request and the administrators
 * asked. Part of `Database` (schema.ts).
 */
import type { Id, Int8, Timestamp } from './columns';

export type ApprovalStatus = 'pending' | 'authorized' | 'ignored' | 'expired';
/** `team` and `import`: settled by a change to people and rights that let the requester open cases there. */
export type ApprovalChannel = 'link' | 'reply' | 'portal' | 'staff' | 'expiry' | 'team' | 'import';

export interface ApprovalsTable {
  id: Id;
  company_id: Int8;
  infrastructure_id: Int8;
  requester_email: string;
  status: ApprovalStatus;
  mail_held: 'no_approvers' | 'capped' | null;
  first_case_id: Int8;
  created_at: Timestamp;
  expires_at: Timestamp;
  remind_at: Timestamp | null;
  reminded_at: Timestamp | null;
  decided_at: Timestamp | null;
  decided_by: string | null;
  channel: ApprovalChannel | null;
}

export interface ApprovalApproversTable {
  approval_id: Int8;
  contact_id: Int8;
  email: string;
}
