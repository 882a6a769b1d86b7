/** `npm run contract`: writes the city contract into docs/city-contract/ (the README there is written by hand). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CONTRACT_VERSION } from './contract.js';
import { contractFiles } from './contract-files.js';

const dir = resolve(process.argv[2] ?? 'docs/city-contract');
const files = contractFiles();
for (const [path, text] of files) {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}
console.log(`wrote ${files.size} files of contract ${CONTRACT_VERSION} to ${dir}`);
