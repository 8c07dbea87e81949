import type { CaseStatus } from '../db/schema';
import { customerReply, setStatus, windowAfterStaffReply } from './lifecycle';

const NOW = new Date('2026-12-02T12:00:00Z');
const DAY = 86_400_000;
const WINDOW = 7 * DAY;
const daysAgo = (n: number) => new Date(NOW.getTime() - n * DAY);
const state = (status: CaseStatus, resolvedAt: Date | null = null) => ({ status, resolvedAt });

describe('setStatus', () => {
  it.each([
    ['suspended', 'held'],
    ['ignored', 'ignored'],
    ['new', 'undecided'],
  ] as const)('refuses to change a %s case (%s)', (status, refused) => {
    expect(setStatus(state(status), 'solved', NOW)).toEqual({ refused });
  });

  it('changes nothing when the status is already the one asked for', () => {
    expect(setStatus(state('pending'), 'pending', NOW)).toEqual({ change: null });
  });

  it('starts the reopen window when a case is solved, and clears it when it opens again', () => {
    expect(setStatus(state('open'), 'solved', NOW)).toEqual({ change: { from: 'open', to: 'solved', resolvedAt: NOW } });
    expect(setStatus(state('solved', daysAgo(2)), 'open', NOW)).toEqual({ change: { from: 'solved', to: 'open', resolvedAt: null } });
    expect(setStatus(state('open'), 'pending', NOW)).toEqual({ change: { from: 'open', to: 'pending', resolvedAt: null } });
  });

  it('does not restart the window when a solved case is closed', () => {
    expect(setStatus(state('solved', daysAgo(3)), 'closed', NOW)).toEqual({ change: { from: 'solved', to: 'closed', resolvedAt: daysAgo(3) } });
  });
});

describe('customerReply', () => {
  it.each(['pending', 'solved', 'closed'] as const)('reopens a %s case within the window when its people write', (status) => {
    expect(customerReply(state(status, status === 'pending' ? null : daysAgo(6)), true, NOW, WINDOW)).toEqual({ effect: 'reopen', change: { from: status, to: 'open', resolvedAt: null } });
  });

  it('leaves the status alone when someone else writes', () => {
    expect(customerReply(state('pending'), false, NOW, WINDOW)).toEqual({ effect: 'append' });
    expect(customerReply(state('solved', daysAgo(1)), false, NOW, WINDOW)).toEqual({ effect: 'append' });
  });

  it.each(['open', 'suspended', 'ignored', 'new'] as const)('appends to a %s case as it stands', (status) => {
    expect(customerReply(state(status), true, NOW, WINDOW)).toEqual({ effect: 'append' });
  });

  it('starts a follow-up case once the window has passed, whoever writes, solved or closed', () => {
    expect(customerReply(state('closed', daysAgo(8)), true, NOW, WINDOW)).toEqual({ effect: 'follow_up' });
    expect(customerReply(state('solved', daysAgo(8)), false, NOW, WINDOW)).toEqual({ effect: 'follow_up' });
  });

  it('counts the window to the millisecond', () => {
    expect(customerReply(state('closed', new Date(NOW.getTime() - WINDOW)), true, NOW, WINDOW).effect).toBe('reopen');
    expect(customerReply(state('closed', new Date(NOW.getTime() - WINDOW - 1)), true, NOW, WINDOW).effect).toBe('follow_up');
  });
});

describe('windowAfterStaffReply', () => {
  const now = new Date('2026-12-02T12:00:00Z');
  it('restarts the window of a solved or closed case, and leaves a worked one alone', () => {
    expect(windowAfterStaffReply({ status: 'closed', resolvedAt: new Date('2026-11-01T00:00:00Z') }, now)).toEqual(now);
    expect(windowAfterStaffReply({ status: 'solved', resolvedAt: new Date('2026-12-01T00:00:00Z') }, now)).toEqual(now);
    expect(windowAfterStaffReply({ status: 'open', resolvedAt: null }, now)).toBeNull();
    expect(windowAfterStaffReply({ status: 'pending', resolvedAt: null }, now)).toBeNull();
  });
});
