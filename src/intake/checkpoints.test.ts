import { batchBySize, pendingUids } from './checkpoints';

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

describe('batchBySize', () => {
  it('cuts batches by count and by bytes, and lets a message larger than the limit go alone', () => {
    const m = (uid: number, size: number) => ({ uid, size });
    expect(batchBySize([m(1, 10), m(2, 10), m(3, 10)], 2, 1000)).toEqual([[1, 2], [3]]);
    expect(batchBySize([m(1, 600), m(2, 600), m(3, 100)], 50, 1000)).toEqual([[1], [2, 3]]);
    expect(batchBySize([m(1, 5000), m(2, 1)], 50, 1000)).toEqual([[1], [2]]);
    expect(batchBySize([], 50, 1000)).toEqual([]);
  });
});
