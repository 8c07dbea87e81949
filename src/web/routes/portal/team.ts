import type { FastifyInstance } from 'fastify';
import type { PortalAuth } from '../../portal-auth';
import type { WebDeps } from '../../server';

export function registerPortalTeamRoutes(_app: FastifyInstance, _deps: WebDeps, _auth: PortalAuth): void {}
