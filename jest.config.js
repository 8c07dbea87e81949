/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/src'],
  testMatch: ['**/*.test.ts'],
  // With isolatedModules (tsconfig) ts-jest only transpiles; type checking is `npm run typecheck`'s job.
  transform: { '^.+\\.ts$': 'ts-jest' },
  globalSetup: '<rootDir>/test/global-setup.js',
  testTimeout: 30000,
  // Every integration test owns its own database and Redis prefix, so files can run in parallel.
  maxWorkers: 2,
};
