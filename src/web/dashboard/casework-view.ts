import type { CaseDetailView } from '../../cases/detail';
import { refusalFor, WORK_STATUSES } from '../../cases/lifecycle';
import { refused } from '../../cases/work-common';
import type { CaseLink, CaseWorkView } from '../../cases/work-view';
import type { PageData } from '../pages';
import { STATUS_WORDS, when } from './words';

const caseLink = (l: CaseLink) => ({ ...l, href: `/dashboard/cases/${encodeURIComponent(l.reference)}`, words: STATUS_WORDS[l.status] });

/**
 * The case page's casework part: assignee, escalation, notes, follow-ups and the forms. Replies
 * and status wait for the gate (lifecycle.refusalFor), as the domain would refuse them; notes and
 * assignment work on any case.
 */
export function caseworkData(c: CaseDetailView, work: CaseWorkView, staffEmails: string[], me: string): PageData {
  const refusal = refusalFor(c.status);
  const cc = c.participants.map((p) => p.email);
  return {
    work: {
      assignee: work.assignee,
      mine: work.assignee === me,
      me,
      escalation: work.escalation && { ...work.escalation, when: when(work.escalation.at) },
      firstResponse: work.firstResponseAt ? when(work.firstResponseAt) : null,
      follows: work.follows && caseLink(work.follows),
      followedBy: work.followedBy.map(caseLink),
      notes: work.notes.map((n) => ({ ...n, when: when(n.at) })),
      // Why the reply and status forms are missing, in the words the domain would refuse them with.
      notYet: refusal ? refused(c.reference, refusal).message : null,
      reply: refusal ? null : { to: c.requesterEmail, cc: cc.join(', '), hasCc: cc.length > 0 },
      statuses: refusal ? null : WORK_STATUSES.map((s) => ({ value: s, words: STATUS_WORDS[s], selected: s === c.status })),
      staff: staffEmails.map((email) => ({ email, selected: email === work.assignee })),
    },
  };
}
