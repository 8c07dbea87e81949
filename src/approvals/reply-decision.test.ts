import { replyDecision } from './reply-decision';

describe('replyDecision', () => {
  it.each([
    ['AUTHORIZE', 'authorize'],
    ['Authorized.', 'authorize'],
    ['authorise', 'authorize'],
    ['Approve', 'authorize'],
    ['approved', 'authorize'],
    ['Yes, go ahead.', 'authorize'],
    ['Okay, go ahead.', 'authorize'],
    ['ok', 'authorize'],
    ['OK!', 'authorize'],
    ['Accept', 'authorize'],
    ['go ahead', 'authorize'],
    ['  approve\nthanks', 'authorize'],
    ['Yes, he is our new contractor.', 'authorize'],
    ['Ja, bitte freigeben.', 'authorize'],
    ['Oui', 'authorize'],
    ['Sí, adelante', 'authorize'],
    ['Sim', 'authorize'],
    ['Sì, autorizzo', 'authorize'],
    ['Ignore', 'ignore'],
    ['ignored', 'ignore'],
    ['no.', 'ignore'],
    ['Nope, never heard of him.', 'ignore'],
    ['Deny', 'ignore'],
    ['denied', 'ignore'],
    ['Reject', 'ignore'],
    ['Decline please', 'ignore'],
    ['Nein', 'ignore'],
    ['Non, je ne le connais pas.', 'ignore'],
    ['No, no lo conozco.', 'ignore'],
    ['Não', 'ignore'],
    ['Nee', 'ignore'],
    ['No - he left the company', 'ignore'],
  ])('reads %j as %s', (text, expected) => {
    expect(replyDecision(text)).toEqual({ decision: expected });
  });

  it.each([
    ['', 'empty'],
    ['  \n ', 'empty'],
    ['Who is this', 'no_decision_word'],
    ['Let me check with HR first', 'no_decision_word'],
    ['yesterday I said nothing', 'no_decision_word'],
    ['Si', 'no_decision_word'],
    ['OK to ignore - he left the company last year.', 'both'],
    ['No problem, authorize him.', 'both'],
    ['Yes. No.', 'both'],
    ['Não autorizo', 'both'],
    ["Don't authorize", 'negated'],
    ['don’t approve him', 'negated'],
    ['Do not approve', 'negated'],
    ['not ok', 'negated'],
    ['Never accept this person', 'negated'],
    ['I would not, in any case, authorize him', 'negated'],
    ["Please don't ignore this", 'negated'],
    ["Doesn't look ok", 'negated'],
    ['Genehmigt nicht', 'negated'],
    ['I cannot approve this', 'negated'],
    ["I can't approve this", 'negated'],
    ['Unable to approve, sorry', 'negated'],
    ['Auf keinen Fall genehmigen', 'negated'],
    ['Geen akkoord', 'negated'],
    ['No problem.', 'no_decision_word'],
    ['No objection from me', 'no_decision_word'],
    ['Authorize?', 'question'],
    ['Should I approve', 'question'],
    ['Can you ignore him', 'question'],
    ['Should I approve?', 'question'],
    ['Is he one of ours? Yes I think', 'question'],
    ['¿Sí', 'question'],
  ])('decides nothing on %j (%s)', (text, reason) => {
    expect(replyDecision(text)).toEqual({ decision: null, reason });
  });

  it('never reads one decision word as the other', () => {
    for (const text of ['Authorize', 'Ignore', 'ok to ignore', 'no problem, authorize', 'not authorize', 'not ignore']) {
      const reading = replyDecision(text);
      if (reading.decision === 'authorize') expect(text).not.toMatch(/ignore|\bno\b|not/i);
      if (reading.decision === 'ignore') expect(text).not.toMatch(/authorize|\bok\b|not/i);
    }
  });
});
