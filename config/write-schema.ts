/** `npm run config:schema`: writes the config's JSON Schema for editors and docs. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { gatewayConfigSchema } from './schema.js';

/** The file's text, with each field's `.meta({ description })` for editors' hovers; the config test compares it with docs/. */
export function configSchemaText(): string {
  const schema = z.toJSONSchema(gatewayConfigSchema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ title: 'campus-edge-gateway configuration', ...schema }, null, 2)}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? 'docs/config.schema.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, configSchemaText());
  console.log(`wrote ${out}`);
}
