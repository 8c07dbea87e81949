import type { FastifyInstance } from 'fastify';
import { loadDirectory } from '../../../directory/listing';
import { when } from '../../dashboard/words';
import { DASHBOARD_HEADERS } from '../../security-headers';
import type { WebDeps } from '../../deps';
import type { StaffAuth } from '../../staff-auth';

/** What the module uses of the web's dependencies. */
export const DIRECTORY_ROUTE_DEPS = ['db', 'pages'] as const;
export type DirectoryRouteDeps = Pick<WebDeps, (typeof DIRECTORY_ROUTE_DEPS)[number]>;

/** The directory, read-only: it changes through `directory import` and approvals, not here. */
export function registerDirectoryRoutes(app: FastifyInstance, deps: DirectoryRouteDeps, auth: StaffAuth): void {
  app.get('/dashboard/directory', async (request, reply) => {
    const companies = await loadDirectory(deps.db);
    const data = companies.map((c) => ({
      ...c,
      domainList: c.domains.join(', ') || '—',
      infrastructures: c.infrastructures.map((i) => ({ ...i, addressList: i.addresses.join(', ') || '—' })),
      contacts: c.contacts.map((p) => ({
        ...p,
        permissions: p.permissions.map((x) => ({
          ...x,
          origin: x.source === 'approval' ? `approval${x.grantedBy ? ` by ${x.grantedBy}` : ''}${x.grantedVia ? ` (${x.grantedVia})` : ''}` : x.source,
          since: when(x.createdAt),
        })),
      })),
    }));
    return reply.headers(DASHBOARD_HEADERS).send(deps.pages.renderDashboard('dashboard/directory', 'Directory', auth.frame(request, 'directory'), { companies: data }));
  });
}
