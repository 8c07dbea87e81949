import { jobIdFor } from './jobs';

describe('jobIdFor', () => {
  it('names a match job by its one case, or by the first case and a digest of all', () => {
    expect(jobIdFor('match', { caseIds: ['7'] })).toBe('match-7');
    const both = jobIdFor('match', { caseIds: ['7', '8'] });
    expect(both).toMatch(/^match-7\+2-[0-9a-f]{12}$/);
    expect(jobIdFor('match', { caseIds: ['7', '9'] })).not.toBe(both);
  });

  it('names a send job by the batch key on its rows, whatever ids are left in it', () => {
    expect(jobIdFor('send', { batch: '1+2-abc', outboxIds: ['1', '2'] })).toBe('send-1+2-abc');
    expect(jobIdFor('send', { batch: '1+2-abc', outboxIds: ['2'] })).toBe('send-1+2-abc');
  });

  it('keeps ":" out of a webhook job id (BullMQ refuses it)', () => {
    expect(jobIdFor('webhook', { endpointId: '3', stream: 'case:42', wake: '17.2' })).toBe('webhook-3-case_42-17.2');
    expect(jobIdFor('approval-reply', { rawId: '5' })).toBe('approval-reply-5');
  });
});
