/**
 * What one `start` process runs; any number of processes of any roles share Redis and PostgreSQL.
 * A module of its own so that the command line's help can name them without loading the service.
 */
export type Role = 'watcher' | 'worker' | 'web';
export const ROLES: readonly Role[] = ['watcher', 'worker', 'web'];
