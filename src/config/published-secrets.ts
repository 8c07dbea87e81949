/**
 * Secret values anyone who has read the repository knows. Outside production they make a checkout
 * run without setup; in production each of them would let a reader of the repository sign
 * Authorize links or call the API, so `loadConfig` refuses them there (see SECRET_VARIABLES).
 * `published-secrets.test.ts` reads .env.example, docker-compose.yml, the demo scripts and the
 * README and fails when a value they show is missing here.
 */

/** The development defaults: what LINK_SECRET and API_TOKEN are outside production when unset. */
export const DEV_LINK_SECRET = 'dev-only-link-secret-change-me-000000';
export const DEV_API_TOKEN = 'dev-api-token';

/** The environment variables that hold a secret; none of them may be a published value in production. */
export const SECRET_VARIABLES = ['LINK_SECRET', 'LINK_SECRET_PREVIOUS', 'API_TOKEN', 'METRICS_TOKEN'] as const;

export const PUBLISHED_SECRETS: ReadonlySet<string> = new Set([
  DEV_LINK_SECRET,
  DEV_API_TOKEN,
  // scripts/demo.sh and scripts/send-sample.js.
  'demo-api-token-change-me',
  // docker-compose.yml's defaults until it required its secrets: deployments may still run on them.
  'compose-placeholder-link-secret-change-me',
  'compose-placeholder-api-token',
]);

/** The variables among `env`'s secrets whose value the repository publishes (names only, never values). */
export function publishedSecretsIn(env: Partial<Record<(typeof SECRET_VARIABLES)[number], string | undefined>>): string[] {
  return SECRET_VARIABLES.filter((name) => {
    const value = env[name];
    return value !== undefined && PUBLISHED_SECRETS.has(value.trim());
  });
}
