import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageInfo } from './version';

describe('the version', () => {
  it("is the project's package.json version, whether compiled or run from source", () => {
    const project = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string; description: string };
    expect(packageInfo()).toEqual({ version: project.version, description: project.description });
    expect(project.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('comes from the nearest package.json above', () => {
    const root = mkdtempSync(join(tmpdir(), 'ci-version-'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ version: '9.8.7' }));
    mkdirSync(join(root, 'dist/src/cli'), { recursive: true });
    expect(packageInfo(join(root, 'dist/src/cli'))).toEqual({ version: '9.8.7', description: '' });
  });
});
