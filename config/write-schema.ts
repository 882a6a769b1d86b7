/** `npm run config:schema`: writes the config's JSON Schema for editors and docs. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { gatewayConfigSchema } from './schema.js';

const out = resolve(process.argv[2] ?? 'docs/config.schema.json');
mkdirSync(dirname(out), { recursive: true });
const schema = z.toJSONSchema(gatewayConfigSchema, { io: 'input', unrepresentable: 'any' });
writeFileSync(out, `${JSON.stringify({ title: 'campus-edge-gateway configuration', ...schema }, null, 2)}\n`);
console.log(`wrote ${out}`);
