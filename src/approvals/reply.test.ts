import { replyDecision } from './reply';

describe('replyDecision', () => {
  it.each([
    ['AUTHORIZE', 'authorize'],
    ['Yes, go ahead.', 'authorize'],
    ['  approve\nthanks', 'authorize'],
    ['\n\nAuthorise', 'authorize'],
    ['Ignore', 'ignore'],
    ['no.', 'ignore'],
  ])('reads %j as %s', (text, expected) => {
    expect(replyDecision(text)).toBe(expected);
  });

  it.each([
    ['Who is this?'],
    ['> Authorize\n> quoted only'],
    ['Not sure, maybe yes'],
    [''],
    ['yesterday I said no'],
  ])('decides nothing on %j', (text) => {
    expect(replyDecision(text)).toBeNull();
  });
});
