import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface PackageInfo {
  version: string;
  description: string;
}

/**
 * The nearest package.json above `from`: the project's own, whether this runs compiled from
 * dist/src/cli or as source under jest. Read, not imported, so the build does not copy it.
 */
export function packageInfo(from = __dirname): PackageInfo {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const { version, description } = JSON.parse(readFileSync(file, 'utf8')) as Partial<PackageInfo>;
      return { version: version ?? 'unknown', description: description ?? '' };
    }
    if (dirname(dir) === dir) return { version: 'unknown', description: '' };
  }
}
