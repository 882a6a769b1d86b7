import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's own version, found by walking up from this file (works from the sources and from dist/). */
export function packageInfo(): { name: string; version: string; root: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'campus-edge-gateway') return { name: pkg.name, version: pkg.version ?? '0.0.0', root: dir };
    } catch {
      // keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return { name: 'campus-edge-gateway', version: '0.0.0', root: process.cwd() };
    dir = parent;
  }
}
