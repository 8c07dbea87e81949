import { currentPayload, jobIdFor } from './jobs';

describe('currentPayload', () => {
  it('reads payloads queued before batching as batches of one, under the job ids they had', () => {
    expect(currentPayload('match', { caseId: '7' })).toEqual({ caseIds: ['7'] });
    expect(jobIdFor('match', currentPayload('match', { caseId: '7' }))).toBe('match-7');
    expect(currentPayload('send', { outboxId: '9' })).toEqual({ batch: '9', outboxIds: ['9'] });
    expect(jobIdFor('send', currentPayload('send', { outboxId: '9' }))).toBe('send-9');
  });

  it('passes current payloads through as they are', () => {
    const batch = { batch: '1+2-abc', outboxIds: ['1', '2'] };
    expect(currentPayload('send', batch)).toBe(batch);
    const match = { caseIds: ['3', '4'] };
    expect(currentPayload('match', match)).toBe(match);
    expect(currentPayload('approval-reply', { rawId: '5' })).toEqual({ rawId: '5' });
  });
});
