import { pendingUids } from './checkpoints';

describe('pendingUids', () => {
  it('keeps only UIDs past the checkpoint, in order', () => {
    expect(pendingUids([9, 4, 5, 7], { uidvalidity: '100', lastUid: 5 }, '100')).toEqual([7, 9]);
  });

  it('starts over when UIDVALIDITY changed (Message-ID de-duplication prevents replays)', () => {
    expect(pendingUids([1, 2, 3], { uidvalidity: '100', lastUid: 50 }, '200')).toEqual([1, 2, 3]);
  });

  it('drops the UID a "N:*" search returns even when nothing is newer', () => {
    // IMAP answers "51:*" with the highest UID even when it is below 51.
    expect(pendingUids([50], { uidvalidity: '100', lastUid: 50 }, '100')).toEqual([]);
  });

  it('takes everything on first sight of a mailbox', () => {
    expect(pendingUids([3, 1, 2], undefined, '100')).toEqual([1, 2, 3]);
  });
});
