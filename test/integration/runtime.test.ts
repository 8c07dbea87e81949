import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/cli';

/**
 * The project runs on one Node LTS major, named in four places that must agree: the `node`
 * devDependency (pinned exactly; it provides the binary where the machine's Node is older),
 * `engines`, @types/node and the Dockerfile's base images. And the tests themselves run on it.
 */

interface PackageJson {
  engines: { node: string };
  devDependencies: Record<string, string>;
  allowScripts?: Record<string, boolean>;
}

const major = (version: string): number => Number(/^\D*(\d+)/.exec(version)?.[1]);

describe('the Node runtime', () => {
  let pkg: PackageJson;
  let pinned: string;
  beforeAll(async () => {
    pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
    pinned = pkg.devDependencies.node ?? '';
  });

  it('is pinned exactly as the `node` devDependency, whose install script npm is allowed to run', async () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.allowScripts?.node).toBe(true);
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    expect(lock.packages['node_modules/node']?.version).toBe(pinned);
  });

  it('runs these tests', () => {
    expect(major(process.versions.node)).toBe(major(pinned));
  });

  it('is the major that engines, @types/node and the Dockerfile name', async () => {
    expect(pkg.engines.node).toBe(`>=${major(pinned)}`);
    expect(major(pkg.devDependencies['@types/node'] ?? '')).toBe(major(pinned));
    const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
    const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(base).toMatch(new RegExp(`^node:${major(pinned)}(\\.|-|$)`));
  });

  it('is what the npm scripts run (scripts/lts-node.sh), which refuses another major with what to do', async () => {
    const ours = spawnSync('bash', [join(ROOT, 'scripts/lts-node.sh'), '-p', 'process.versions.node'], { cwd: ROOT, encoding: 'utf8' });
    expect(ours.status).toBe(0);
    expect(major(ours.stdout)).toBe(major(pinned));

    // The same script in a project that pins a major nobody has.
    const other = await mkdtemp(join(tmpdir(), 'case-intake-runtime-'));
    try {
      await mkdir(join(other, 'scripts/lib'), { recursive: true });
      await copyFile(join(ROOT, 'scripts/lts-node.sh'), join(other, 'scripts/lts-node.sh'));
      await copyFile(join(ROOT, 'scripts/lib/node.sh'), join(other, 'scripts/lib/node.sh'));
      await writeFile(join(other, 'package.json'), JSON.stringify({ devDependencies: { node: '99.1.0' } }, null, 2));
      const refused = spawnSync('bash', [join(other, 'scripts/lts-node.sh'), '-v'], { cwd: other, encoding: 'utf8', env: { ...process.env, PATH: `${join(process.execPath, '..')}:/usr/bin:/bin` } });
      expect(refused.status).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toContain('case-intake runs on Node 99');
      expect(refused.stderr).toContain(`is v${process.versions.node}`);
      expect(refused.stderr).toContain('npm ci');
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
