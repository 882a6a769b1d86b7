/**
 * The console's build step after tsc: copies index.html and the stylesheet next to the compiled modules
 * in dist/console. Part of `npm run build`; no bundler, so this is all the "bundling" there is.
 */
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageInfo } from '../core/version.js';

const root = packageInfo().root;
const from = join(root, 'gateway', 'console', 'web', 'static');
const to = join(root, 'dist', 'console');
if (!existsSync(from)) {
  console.error(`copy-static: ${from} is missing`);
  process.exit(1);
}
mkdirSync(to, { recursive: true });
cpSync(from, to, { recursive: true });
console.log(`console: copied static files to ${to}`);
