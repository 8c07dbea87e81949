import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { load } from 'js-yaml';
import { ConfigError, loadConfig } from './config';
import { PUBLISHED_SECRETS, SECRET_VARIABLES } from './published-secrets';

const ROOT = join(__dirname, '../..');
const NAMES = SECRET_VARIABLES.join('|');

/**
 * Every value the text gives one of the secret variables: `NAME=value` (shell, .env, README),
 * `${NAME:-value}` (a compose or shell default), `process.env.NAME || 'value'` (a script's default).
 * References (`$(...)`, `${...}`, `$NAME`) and placeholders (`<token>`) are not values.
 */
function secretValuesIn(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(new RegExp(`\\$\\{(?:${NAMES}):?-([^}]*)\\}`, 'g'))) found.push(m[1]!);
  for (const m of text.matchAll(new RegExp(`\\b(?:${NAMES})=("[^"]*"|'[^']*'|[^\\s;&|)\`]*)`, 'g'))) found.push(m[1]!.replace(/^["']|["']$/g, ''));
  for (const m of text.matchAll(new RegExp(`env\\.(?:${NAMES})\\s*(?:\\|\\||\\?\\?)\\s*(["'\`])([^"'\`]*)\\1`, 'g'))) found.push(m[2]!);
  return found.map((v) => v.trim()).filter((v) => v !== '' && !v.startsWith('$') && !v.startsWith('<'));
}

/** The files the repository publishes for running it: examples, compose, Docker, the demo, the manual. */
function publishedFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir)).flatMap((name) => {
      const path = join(dir, name);
      return statSync(join(ROOT, path)).isDirectory() ? walk(path) : [path];
    });
  return ['.env.example', 'docker-compose.yml', 'Dockerfile', 'README.md', ...walk('docs'), ...walk('scripts'), ...walk('bin'), ...walk('fixtures').filter((p) => /\.(json|sh|js|env|ya?ml)$/.test(p))];
}

describe('secret values the repository publishes', () => {
  const byFile = publishedFiles().map((path) => ({ path: relative(ROOT, join(ROOT, path)), values: secretValuesIn(readFileSync(join(ROOT, path), 'utf8')) }));

  it('reads assignments, defaults and script fallbacks, and skips references', () => {
    expect(secretValuesIn('export API_TOKEN=demo-token-0123456789\n# LINK_SECRET=\nAPI_TOKEN=$(openssl rand -hex 16)')).toEqual(['demo-token-0123456789']);
    expect(secretValuesIn('LINK_SECRET: ${LINK_SECRET:-a-default-value}\nAPI_TOKEN: ${API_TOKEN:?required}')).toEqual(['a-default-value']);
    expect(secretValuesIn("const t = process.env.METRICS_TOKEN || 'fallback-token-xyz';")).toEqual(['fallback-token-xyz']);
    expect(secretValuesIn('curl -H "Authorization: Bearer <API_TOKEN>"; LINK_SECRET=<secret>')).toEqual([]);
  });

  it('finds the demo token where the demo states it (the reading works on the real files)', () => {
    expect(byFile.find((f) => f.path === 'scripts/demo.sh')?.values).toContain('demo-api-token-change-me');
    expect(byFile.find((f) => f.path === 'scripts/send-sample.js')?.values).toContain('demo-api-token-change-me');
  });

  it('knows every value published in .env.example, compose, Docker, the scripts, fixtures, the README and docs/', () => {
    const unknown = byFile.flatMap((f) => f.values.filter((v) => !PUBLISHED_SECRETS.has(v)).map((v) => `${f.path}: ${v}`));
    expect(unknown).toEqual([]);
  });

  it('refuses each of them in production, in every secret variable, naming the variable and never the value', () => {
    const values = new Set([...PUBLISHED_SECRETS, ...byFile.flatMap((f) => f.values)]);
    for (const value of values) {
      for (const name of SECRET_VARIABLES) {
        const env = { NODE_ENV: 'production', LINK_SECRET: 'a'.repeat(20) + 'own-link-secret-value', API_TOKEN: 'own-api-token-value', [name]: value };
        let error: unknown;
        try {
          loadConfig(env);
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems).toContainEqual(expect.stringMatching(new RegExp(`^${name}: is a value published in the case-intake repository`)));
        expect((error as Error).message).not.toContain(value);
      }
    }
  });

  it('docker-compose.yml requires every secret it passes on (`${NAME:?...}`), with no default anywhere', () => {
    const compose = load(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { environment?: Record<string, unknown> | string[] }> };
    const service = compose.services['case-intake']!;
    const environment = service.environment as Record<string, unknown>;
    for (const name of ['LINK_SECRET', 'API_TOKEN']) expect(String(environment[name])).toMatch(new RegExp(`^\\$\\{${name}:\\?[^}]+\\}$`));
    for (const [serviceName, s] of Object.entries(compose.services)) {
      const env = Array.isArray(s.environment) ? Object.fromEntries(s.environment.map((e) => e.split(/=(.*)/s).slice(0, 2))) : (s.environment ?? {});
      for (const name of SECRET_VARIABLES) {
        if (env[name] === undefined) continue;
        expect(`${serviceName}.${name}: ${String(env[name])}`).toMatch(new RegExp(`^${serviceName}\\.${name}: \\$\\{${name}:\\?[^}]+\\}$`));
      }
    }
  });
});
