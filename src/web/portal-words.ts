import type { CaseStatus, HoldReason } from '../db/schema';

/** A case's status as a customer reads it: what is happening and who is waiting for whom. */
export function customerStatus(status: CaseStatus, holdReason: HoldReason | null, approvalPending: boolean): string {
  switch (status) {
    case 'new':
      return 'received, being sorted';
    case 'open':
      return 'open: a support engineer will answer by email';
    case 'pending':
      return 'waiting for your answer: reply to our last message or comment here';
    case 'solved':
      return 'solved: reply or comment if it is not, and the case opens again';
    case 'closed':
      return 'closed: comment here if you need more help with it';
    case 'ignored':
      return 'not accepted: your administrators did not authorize it';
    case 'suspended':
      if (approvalPending) return 'waiting for your administrators’ approval';
      switch (holdReason) {
        case 'unrouted':
          return 'on hold: our support team is finding out which of your systems it is about';
        case 'rate_limited':
          return 'on hold: many messages arrived from this address in a short time; support will look at it';
        case 'too_large':
          return 'on hold: the message is larger than we accept; support will look at it';
        default:
          return 'on hold: waiting for your administrators';
      }
  }
}
