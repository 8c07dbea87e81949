/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/src'],
  testMatch: ['**/*.test.ts'],
  // With isolatedModules (tsconfig) ts-jest only transpiles; type checking is `npm run typecheck`'s job.
  // A few dependencies ship ESM only (Node `require`s them natively, jest's loader cannot):
  // ts-jest turns just those into CommonJS.
  transform: {
    '^.+\\.ts$': 'ts-jest',
    '^.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', moduleResolution: 'node10', isolatedModules: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition|cookie|openid-client|oauth4webapi|jose)/)'],
  globalSetup: '<rootDir>/test/global-setup.js',
  testTimeout: 30000,
  // Every integration test owns its own database and Redis prefix, so files can run in parallel.
  maxWorkers: 2,
};
