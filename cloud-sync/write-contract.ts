/**
 * `npm run contract`: writes the city contract into docs/city-contract/ — one JSON Schema per message type, the
 * envelope union, the command schema, and an example of each (checked against the zod schemas first, so a
 * published example is always valid). The README there is written by hand.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { CONTRACT_VERSION, commandSchema, envelopeSchema, envelopeSchemaFor, messageTypes, type MessageType } from './contract.js';
import { commandExamples, envelopeExample } from './examples.js';

const dir = resolve(process.argv[2] ?? 'docs/city-contract');
mkdirSync(join(dir, 'examples'), { recursive: true });
const write = (file: string, value: unknown): void => {
  writeFileSync(join(dir, file), `${JSON.stringify(value, null, 2)}\n`);
};
const schemaOf = (schema: z.ZodType, title: string, io: 'input' | 'output') => ({
  ...z.toJSONSchema(schema, { io, unrepresentable: 'throw' }),
  $id: `urn:campus-edge-gateway:city-contract:${CONTRACT_VERSION}:${title}`,
  title,
  'x-contract-version': CONTRACT_VERSION,
});

let files = 0;
for (const type of Object.keys(messageTypes) as MessageType[]) {
  const example = envelopeExample(type);
  envelopeSchemaFor(type).parse(example);
  write(`${type}.schema.json`, schemaOf(envelopeSchemaFor(type), type, 'output'));
  write(`examples/${type}.json`, example);
  files += 2;
}
write('envelope.schema.json', schemaOf(envelopeSchema, 'envelope', 'output'));
// Commands are what the city sends: the input shape, where `params` may be left out when empty.
write('command.schema.json', schemaOf(commandSchema, 'command', 'input'));
for (const c of commandExamples) {
  commandSchema.parse(c);
  write(`examples/command.${c.type}.json`, c);
}
files += 2 + commandExamples.length;
console.log(`wrote ${files} files of contract ${CONTRACT_VERSION} to ${dir}`);
