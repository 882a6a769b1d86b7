/** `npm run openapi`: writes the OpenAPI 3.1 document of /api/v1 to docs/openapi.json (or the path given). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiDocument } from '../api-catalogue.js';

/** The file's text: test/foundation/openapi.test.ts compares docs/openapi.json with it, so the file cannot go stale. */
export function openApiText(): string {
  return `${JSON.stringify(apiDocument(), null, 2)}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? 'docs/openapi.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, openApiText());
  console.log(`wrote ${out}`);
}
