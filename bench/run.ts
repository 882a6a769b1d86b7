/**
 * `npm run bench -- <name> [args]`: runs bench/<name>.js, prints its figures and writes
 * bench/results/<name>-<timestamp>.json. Every benchmark measures its baseline in the same run.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { packageInfo } from '../gateway/core/version.js';

export interface BenchResult {
  name: string;
  /** Figures as printed: throughput, latency percentiles, RSS, and the baseline's. */
  figures: Record<string, number | string | boolean>;
  /** The goal from the issue, and whether this run met it. */
  goal: string;
  met: boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'run.js' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (names.length === 0) {
  console.error(`usage: npm run bench -- <${available.join('|')}>`);
  process.exit(2);
}
const outDir = join(packageInfo().root, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
let allMet = true;
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`no benchmark "${name}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
  const mod = (await import(pathToFileURL(join(here, `${name}.js`)).href)) as { default: () => Promise<BenchResult> };
  console.log(`\n== ${name}`);
  const result = await mod.default();
  for (const [k, v] of Object.entries(result.figures)) console.log(`  ${k.padEnd(36)} ${v}`);
  console.log(`  goal: ${result.goal} -> ${result.met ? 'met' : 'NOT met'}`);
  allMet &&= result.met;
  const file = join(outDir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ ...result, at: new Date().toISOString(), node: process.version }, null, 2)}\n`);
  console.log(`  written: ${file}`);
}
process.exit(allMet ? 0 : 1);
