import type { FastifyInstance } from 'fastify';
import { pick } from '../../pick';
import type { WebDeps } from '../../deps';
import type { StaffAuth } from '../../staff-auth';
import { CASE_LIST_DEPS, registerCaseListRoutes } from './case-list';
import { CASE_DEPS, casePage, registerCaseRoutes } from './cases';
import { DASHBOARD_CASEWORK_DEPS, registerCaseworkRoutes } from './casework';
import { DIRECTORY_ROUTE_DEPS, registerDirectoryRoutes } from './directory';
import { INTAKE_ROUTE_DEPS, registerIntakeRoutes } from './intake';
import { OVERVIEW_DEPS, registerOverviewRoutes } from './overview';
import { registerWebhookRoutes, WEBHOOK_ROUTE_DEPS } from './webhooks';

/** What the dashboard's modules use of the web's dependencies, together. */
export const DASHBOARD_DEPS = [...OVERVIEW_DEPS, ...CASE_LIST_DEPS, ...CASE_DEPS, ...DASHBOARD_CASEWORK_DEPS, ...INTAKE_ROUTE_DEPS, ...DIRECTORY_ROUTE_DEPS, ...WEBHOOK_ROUTE_DEPS] as const;
export type DashboardDeps = Pick<WebDeps, (typeof DASHBOARD_DEPS)[number]>;

/** The staff dashboard's pages; the caller mounts them inside the staff-only scope. Each module gets what it uses. */
export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardDeps, auth: StaffAuth): void {
  registerOverviewRoutes(app, pick(deps, OVERVIEW_DEPS), auth);
  registerCaseListRoutes(app, pick(deps, CASE_LIST_DEPS), auth);
  registerCaseRoutes(app, pick(deps, CASE_DEPS), auth);
  registerCaseworkRoutes(app, pick(deps, DASHBOARD_CASEWORK_DEPS), casePage(pick(deps, CASE_DEPS), auth));
  registerIntakeRoutes(app, pick(deps, INTAKE_ROUTE_DEPS), auth);
  registerDirectoryRoutes(app, pick(deps, DIRECTORY_ROUTE_DEPS), auth);
  registerWebhookRoutes(app, pick(deps, WEBHOOK_ROUTE_DEPS), auth);
}
