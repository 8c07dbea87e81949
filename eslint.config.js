// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Scripts the browser runs (the overview's and the case list's live refresh, times in the viewer's zone).
    files: ['templates/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { window: 'readonly', document: 'readonly', EventSource: 'readonly', fetch: 'readonly', setTimeout: 'readonly', MutationObserver: 'readonly', Intl: 'readonly' } },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Domain code stays free of the HTTP and queue frameworks: only the edges import them.
      'no-restricted-imports': 'off',
    },
  },
  {
    files: ['src/cases/**/*.ts', 'src/directory/**/*.ts', 'src/intake/**/*.ts', 'src/approvals/**/*.ts', 'src/mail/**/*.ts', 'src/staff/**/*.ts', 'src/security/**/*.ts', 'src/portal/**/*.ts', 'src/ops/overview.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'fastify', message: 'domain code does not import the HTTP framework' }, { name: 'bullmq', message: 'domain code enqueues through JobSink (src/queue/jobs.ts)' }] }],
    },
  },
);
