import { messagePath, type MessageFacts, type ReadMessage } from './message-path';

const SUPPORT = 'support@support.example.com';
const person = { class: 'person' as const, reason: '' };

function read(overrides: { recipients?: string[]; senderVerified?: boolean | null } = {}): ReadMessage {
  return {
    parsed: {
      messageId: 'm1@customer.test',
      fromEmail: 'ann@customer.test',
      fromName: 'Ann',
      recipients: overrides.recipients ?? [SUPPORT],
      cc: [],
      subject: 'Invoice 42',
      text: 'Hello',
      html: null,
      sentAt: null,
      attachments: [],
      answers: [],
    },
    participants: [],
    findings: { intakeHold: null, senderVerified: overrides.senderVerified ?? null },
  };
}

const path = (facts: MessageFacts) => messagePath(facts, SUPPORT);
const thread = { caseId: '7', via: 'message_id' as const };

describe('messagePath', () => {
  it('keeps automatic mail from its headers alone, before parsing or any look-up', () => {
    expect(path({ classification: { class: 'bounce', reason: 'Content-Type: multipart/report' } })).toEqual({ path: 'automatic', kind: 'bounce', reason: 'Content-Type: multipart/report' });
    // Even with a thread on record: automatic mail never joins a case.
    expect(path({ classification: { class: 'auto_reply', reason: 'Auto-Submitted: auto-replied' }, read: read(), thread })).toMatchObject({ path: 'automatic', kind: 'auto_reply' });
  });

  it('asks for the parse of a person’s message, then quarantines it when it is unreadable', () => {
    expect(path({ classification: person })).toEqual({ needs: 'parse' });
    expect(path({ classification: person, read: { unreadable: 'no From address' } })).toEqual({ path: 'quarantine', reason: 'no From address' });
  });

  it('hands a message to an approval reply address on without looking for a thread', () => {
    const approval = read({ recipients: [SUPPORT, 'Support+Approve-abc123@support.example.com'] });
    expect(path({ classification: person, read: approval })).toEqual({ path: 'approval_reply' });
    expect(path({ classification: person, read: approval, thread })).toEqual({ path: 'approval_reply' });
    // On another domain the same local part is no approval address.
    expect(path({ classification: person, read: read({ recipients: ['support+approve-abc123@elsewhere.test'] }) })).toEqual({ needs: 'thread' });
  });

  it('asks for the thread, then files a reply on its case or a new case', () => {
    expect(path({ classification: person, read: read() })).toEqual({ needs: 'thread' });
    expect(path({ classification: person, read: read(), thread })).toEqual({ path: 'reply', thread, hold: null });
    expect(path({ classification: person, read: read(), thread: null })).toEqual({ path: 'new_case' });
  });

  it('holds a reply from its case when the receiving server did not vouch for its sender', () => {
    expect(path({ classification: person, read: read({ senderVerified: false }), thread })).toEqual({ path: 'reply', thread, hold: 'reply_not_verified' });
    expect(path({ classification: person, read: read({ senderVerified: true }), thread })).toMatchObject({ hold: null });
    // A new case is never held here: matching weighs an unverified sender.
    expect(path({ classification: person, read: read({ senderVerified: false }), thread: null })).toEqual({ path: 'new_case' });
  });
});
