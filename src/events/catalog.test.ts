import { publicEventOf, type RecordedChange } from './catalog';

const change = (over: Partial<RecordedChange>): RecordedChange => ({
  source: 'case_event',
  kind: 'created',
  actor: 'intake',
  channel: 'mail',
  detail: {},
  caseId: '7',
  approvalId: null,
  companyId: null,
  infrastructureId: null,
  subjectEmail: null,
  ...over,
});

describe('publicEventOf', () => {
  it('reports a case’s changes in the case’s stream', () => {
    expect(publicEventOf(change({ kind: 'created', detail: { rawMessageId: '3' } }))).toEqual({ type: 'case.created', stream: 'case:7', caseId: '7', data: { followsCaseId: null, channel: 'mail' } });
    expect(publicEventOf(change({ kind: 'decided', actor: 'matching', detail: { status: 'suspended', holdReason: 'unknown_sender', route: 'recipient' } }))?.data).toEqual({ status: 'suspended', holdReason: 'unknown_sender', route: 'recipient' });
    expect(publicEventOf(change({ kind: 'status_changed', actor: 'sam@vendor.test', channel: 'dashboard', detail: { from: 'open', to: 'pending' } }))).toMatchObject({ type: 'case.status_changed', data: { from: 'open', to: 'pending', by: 'sam@vendor.test', cause: null } });
    expect(publicEventOf(change({ kind: 'escalated', actor: 'bob@acme.test', detail: { reason: 'down' } }))).toMatchObject({ type: 'case.escalated', data: { by: 'bob@acme.test', reason: 'down' } });
  });

  it('reports customers’ and staff’s messages alike, saying which', () => {
    expect(publicEventOf(change({ kind: 'message_added', detail: { rawMessageId: '9', via: 'message_id' } }))?.data).toMatchObject({ author: 'customer', rawMessageId: '9' });
    expect(publicEventOf(change({ kind: 'staff_replied', channel: 'api', detail: { messageId: '12' } }))?.data).toMatchObject({ author: 'staff', messageId: '12', channel: 'api' });
  });

  it('keeps what is not for outside eyes to itself', () => {
    for (const kind of ['note_added', 'reply_held', 'assigned', 'routed', 'approval_resent', 'followed_up']) expect(publicEventOf(change({ kind }))).toBeNull();
    expect(publicEventOf(change({ source: 'audit', kind: 'approval_joined', approvalId: '4' }))).toBeNull();
    expect(publicEventOf(change({ source: 'audit', kind: 'delivered' }))).toBeNull();
  });

  it('orders approvals by approval and membership changes by company', () => {
    expect(publicEventOf(change({ source: 'audit', kind: 'approval_requested', approvalId: '4', subjectEmail: 'rita@acme.test', detail: { mailHeld: null } }))).toEqual({
      type: 'approval.requested',
      stream: 'approval:4',
      caseId: '7',
      data: { approvalId: '4', requester: 'rita@acme.test', mailHeld: null },
    });
    expect(publicEventOf(change({ source: 'audit', kind: 'approval_expired', actor: 'system', channel: 'expiry', approvalId: '4' }))).toMatchObject({ type: 'approval.decided', stream: 'approval:4', data: { status: 'expired' } });
    expect(publicEventOf(change({ source: 'audit', kind: 'permission_granted', caseId: null, companyId: '2', subjectEmail: 'rita@acme.test' }))).toEqual({
      type: 'member.changed',
      stream: 'company:2',
      caseId: null,
      data: { change: 'permission_granted', email: 'rita@acme.test', by: 'intake', channel: 'mail' },
    });
  });
});
