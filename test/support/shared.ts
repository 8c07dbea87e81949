import { join } from 'node:path';

/** The project's ../shared (seeds and the real-mail corpus); SHARED_DIR when it lives elsewhere (a worktree). */
export const SHARED_DIR = process.env.SHARED_DIR ?? join(__dirname, '../../../shared');
