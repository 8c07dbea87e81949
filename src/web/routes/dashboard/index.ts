import type { FastifyInstance } from 'fastify';
import type { WebDeps } from '../../deps';
import type { StaffAuth } from '../../staff-auth';
import { registerCaseListRoutes } from './case-list';
import { registerCaseRoutes } from './cases';
import { registerCaseworkRoutes } from './casework';
import { registerDirectoryRoutes } from './directory';
import { registerIntakeRoutes } from './intake';
import { registerOverviewRoutes } from './overview';
import { registerWebhookRoutes } from './webhooks';

/** The staff dashboard's pages; the caller mounts them inside the staff-only scope. */
export function registerDashboardRoutes(app: FastifyInstance, deps: WebDeps, auth: StaffAuth): void {
  registerOverviewRoutes(app, deps, auth);
  registerCaseListRoutes(app, deps, auth);
  registerCaseRoutes(app, deps, auth);
  registerCaseworkRoutes(app, deps);
  registerIntakeRoutes(app, deps, auth);
  registerDirectoryRoutes(app, deps, auth);
  registerWebhookRoutes(app, deps, auth);
}
