/**
 * The console's build step after tsc: copies index.html, the stylesheet and the icon next to the compiled
 * modules in dist/console. Part of `npm run build`; with no bundler, this is all the bundling there is.
 */
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageInfo } from '../core/version.js';

export function copyConsoleStatic(root = packageInfo().root): string {
  const from = join(root, 'console', 'static');
  const to = join(root, 'dist', 'console');
  if (!existsSync(from)) throw new Error(`copy-static: ${from} is missing`);
  mkdirSync(to, { recursive: true });
  cpSync(from, to, { recursive: true });
  return to;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(`console: copied static files to ${copyConsoleStatic()}`);
}
