import type { Migration } from 'kysely';
import * as directory from './2026_11_23_001_directory';
import * as intake from './2026_11_23_002_intake';
import * as approvalsOutbox from './2026_11_23_003_approvals_outbox';
import * as threading from './2026_11_23_004_threading';
import * as intakeHolds from './2026_11_23_005_intake_holds';
import * as bounces from './2026_11_23_006_bounces';
import * as streamedRaw from './2026_11_23_007_streamed_raw';
import * as staff from './2026_11_23_008_staff';
import * as dashboardIndexes from './2026_11_23_009_dashboard_indexes';
import * as portal from './2026_11_23_010_portal';
import * as mailboxWatchers from './2026_11_23_011_mailbox_watchers';
import * as outboxRecipient from './2026_11_23_012_outbox_recipient';
import * as outboxSendBatch from './2026_11_28_013_outbox_send_batch';
import * as attachmentLargeObjects from './2026_11_28_014_attachment_large_objects';
import * as lz4Compression from './2026_11_29_015_lz4_compression';
import * as directorySettlesApprovals from './2026_12_02_016_directory_settles_approvals';
import * as firstDecision from './2026_12_02_017_first_decision';
import * as outboxSealedSecrets from './2026_12_02_018_outbox_sealed_secrets';
import * as heldReplies from './2026_12_02_019_held_replies';
import * as casework from './2026_12_02_020_casework';
import * as events from './2026_12_02_021_events';
import * as webhooks from './2026_12_02_022_webhooks';
import * as mailboxAuthReason from './2026_12_03_023_mailbox_auth_reason';

/**
 * Every migration, by name. Listed explicitly (not read from disk) so the same code runs from
 * TypeScript sources under jest and from the compiled `dist/` in production.
 */
export const migrations: Record<string, Migration> = {
  '2026_11_23_001_directory': directory,
  '2026_11_23_002_intake': intake,
  '2026_11_23_003_approvals_outbox': approvalsOutbox,
  '2026_11_23_004_threading': threading,
  '2026_11_23_005_intake_holds': intakeHolds,
  '2026_11_23_006_bounces': bounces,
  '2026_11_23_007_streamed_raw': streamedRaw,
  '2026_11_23_008_staff': staff,
  '2026_11_23_009_dashboard_indexes': dashboardIndexes,
  '2026_11_23_010_portal': portal,
  '2026_11_23_011_mailbox_watchers': mailboxWatchers,
  '2026_11_23_012_outbox_recipient': outboxRecipient,
  '2026_11_28_013_outbox_send_batch': outboxSendBatch,
  '2026_11_28_014_attachment_large_objects': attachmentLargeObjects,
  '2026_11_29_015_lz4_compression': lz4Compression,
  '2026_12_02_016_directory_settles_approvals': directorySettlesApprovals,
  '2026_12_02_017_first_decision': firstDecision,
  '2026_12_02_018_outbox_sealed_secrets': outboxSealedSecrets,
  '2026_12_02_019_held_replies': heldReplies,
  '2026_12_02_020_casework': casework,
  '2026_12_02_021_events': events,
  '2026_12_02_022_webhooks': webhooks,
  '2026_12_03_023_mailbox_auth_reason': mailboxAuthReason,
};
