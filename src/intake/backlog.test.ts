import { IntakeBacklog } from './backlog';

/** A yield's promise and whether it has resolved yet. */
function track(p: Promise<void>): { done: () => boolean } {
  let resolved = false;
  void p.then(() => (resolved = true));
  return { done: () => resolved };
}

const settle = () => jest.advanceTimersByTimeAsync(0);

/** A send asks to go, and the promises run: whether it may is then `done()`. */
async function asked(b: IntakeBacklog, signal?: AbortSignal): Promise<{ done: () => boolean }> {
  const y = track(b.yieldToIntake(signal));
  await settle();
  return y;
}

describe('IntakeBacklog', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const backlog = (maxHoldMs = 30_000) => new IntakeBacklog({ threshold: 50, maxHoldMs });

  it('lets a send through at once while the watchers are a fetch or less behind', async () => {
    const b = backlog();
    b.report('a', 50);
    const y = await asked(b);
    expect(y.done()).toBe(true);
  });

  it('holds a send while more than a fetch waits, and lets it go when intake catches up', async () => {
    const b = backlog();
    b.report('a', 400);
    const y = track(b.yieldToIntake());
    await jest.advanceTimersByTimeAsync(5_000);
    expect(y.done()).toBe(false);
    b.report('a', 100);
    await settle();
    expect(y.done()).toBe(false);
    b.report('a', 50);
    await settle();
    expect(y.done()).toBe(true);
  });

  it('adds up every mailbox of the process', async () => {
    const b = backlog();
    b.report('a', 30);
    b.report('b', 30);
    expect(b.waiting()).toBe(60);
    const y = await asked(b);
    expect(y.done()).toBe(false);
    b.report('b', 0);
    await settle();
    expect(y.done()).toBe(true);
  });

  it('never holds mail longer than maxHoldMs at a stretch, then gives it a turn as long', async () => {
    const b = backlog(10_000);
    b.report('a', 5_000);
    const first = track(b.yieldToIntake());
    await jest.advanceTimersByTimeAsync(4_000);
    // A send that comes later in the same stretch is let go with the first, not 10 s after it came.
    const second = track(b.yieldToIntake());
    await jest.advanceTimersByTimeAsync(5_999);
    expect([first.done(), second.done()]).toEqual([false, false]);
    await jest.advanceTimersByTimeAsync(1);
    expect([first.done(), second.done()]).toEqual([true, true]);

    // Mail's turn: still behind, yet nothing waits for the next 10 s.
    await jest.advanceTimersByTimeAsync(9_000);
    const inTurn = await asked(b);
    expect(inTurn.done()).toBe(true);

    // After the turn, the backlog gets its stretch again.
    await jest.advanceTimersByTimeAsync(1_000);
    const after = track(b.yieldToIntake());
    await jest.advanceTimersByTimeAsync(9_999);
    expect(after.done()).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(after.done()).toBe(true);
  });

  it('lets a held send go when the process begins to stop', async () => {
    const b = backlog();
    b.report('a', 1_000);
    const stopping = new AbortController();
    const y = await asked(b, stopping.signal);
    expect(y.done()).toBe(false);
    stopping.abort();
    await settle();
    expect(y.done()).toBe(true);
    // Already stopping: no wait at all.
    const late = await asked(b, stopping.signal);
    expect(late.done()).toBe(true);
  });

  it('never holds anything with SEND_YIELD_SECONDS=0', async () => {
    const b = backlog(0);
    b.report('a', 1_000_000);
    const y = await asked(b);
    expect(y.done()).toBe(true);
  });
});
