import type { FastifyInstance } from 'fastify';
import type { PortalAuth } from '../../portal-auth';
import type { WebDeps } from '../../server';

export function registerPortalCaseRoutes(_app: FastifyInstance, _deps: WebDeps, _auth: PortalAuth): void {}
