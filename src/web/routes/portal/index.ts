import type { FastifyInstance } from 'fastify';
import { DASHBOARD_HEADERS } from '../../security-headers';
import { PortalAuth } from '../../portal-auth';
import { pick } from '../../pick';
import { uploadLimits, type WebDeps } from '../../deps';
import { acceptUploads } from '../../uploads';
import { PORTAL_CASE_DEPS, portalCasePage, registerPortalCaseRoutes } from './cases';
import { PORTAL_CASEWORK_DEPS, registerPortalCaseworkRoutes } from './casework';
import { PORTAL_TEAM_DEPS, registerPortalTeamRoutes } from './team';

const DEFAULT_LINK_TTL_MS = 15 * 60_000;
const DEFAULT_SESSION_TTL_MS = 12 * 3600_000;

/** What the portal and its modules use of the web's dependencies. */
export const PORTAL_DEPS = ['approvals', 'pages', 'enqueueDeliveries', 'portalLinkTtlMs', 'portalSessionTtlMs', 'uploadLimits', ...PORTAL_CASE_DEPS, ...PORTAL_CASEWORK_DEPS, ...PORTAL_TEAM_DEPS] as const;
export type PortalDeps = Pick<WebDeps, (typeof PORTAL_DEPS)[number]>;

/** The customer portal under /portal: sign-in by emailed link, then what the directory allows. */
export async function registerPortal(app: FastifyInstance, deps: PortalDeps): Promise<void> {
  const auth = new PortalAuth({
    db: deps.db,
    log: deps.log,
    outbox: deps.approvals.outbox,
    publicUrl: deps.approvals.settings.publicUrl,
    linkSecret: deps.approvals.settings.linkSecret,
    pages: deps.pages,
    linkTtlMs: deps.portalLinkTtlMs ?? DEFAULT_LINK_TTL_MS,
    sessionTtlMs: deps.portalSessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
    enqueueDeliveries: deps.enqueueDeliveries,
  });
  await app.register(async (portal) => {
    portal.decorateRequest('portal', null);
    portal.addHook('onRequest', auth.loadSession);
    auth.registerSignIn(portal);
    await portal.register(async (signedIn) => {
      signedIn.addHook('onRequest', auth.requireSignedIn);
      signedIn.addHook('preHandler', auth.requireCsrf);
      await acceptUploads(signedIn, uploadLimits(deps));
      auth.registerSignOut(signedIn);
      signedIn.get('/portal', async (request, reply) => {
        const frame = auth.frame(request, 'home');
        const person = request.portal!.person;
        return reply.headers(DASHBOARD_HEADERS).send(
          deps.pages.renderFramed('portal/layout', 'portal/home', 'Support portal', frame, {
            memberships: person.memberships,
            grants: person.grants,
            manages: frame.manages,
          }),
        );
      });
      registerPortalCaseRoutes(signedIn, pick(deps, PORTAL_CASE_DEPS), auth);
      registerPortalCaseworkRoutes(signedIn, pick(deps, PORTAL_CASEWORK_DEPS), portalCasePage(pick(deps, PORTAL_CASE_DEPS), auth));
      registerPortalTeamRoutes(signedIn, pick(deps, PORTAL_TEAM_DEPS), auth);
    });
  });
}
