/**
 * The files of the published contract (docs/city-contract/), as text: one JSON Schema per message type, the
 * envelope union, the command schema, and an example of each. Examples are checked against the zod schemas
 * first, so a published example is always valid.
 */
import { z } from 'zod';
import { CONTRACT_VERSION, commandSchema, envelopeSchema, envelopeSchemaFor, messageTypes, type MessageType } from './contract.js';
import { commandExamples, envelopeExample, rejectedResultExample } from './examples.js';

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

const schemaOf = (schema: z.ZodType, title: string, io: 'input' | 'output') =>
  json({
    ...z.toJSONSchema(schema, { io, unrepresentable: 'throw' }),
    $id: `urn:campus-edge-gateway:city-contract:${CONTRACT_VERSION}:${title}`,
    title,
    'x-contract-version': CONTRACT_VERSION,
  });

/** Relative path → file content. */
export function contractFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const type of Object.keys(messageTypes) as MessageType[]) {
    const example = envelopeExample(type);
    envelopeSchemaFor(type).parse(example);
    files.set(`${type}.schema.json`, schemaOf(envelopeSchemaFor(type), type, 'output'));
    files.set(`examples/${type}.json`, json(example));
  }
  files.set('envelope.schema.json', schemaOf(envelopeSchema, 'envelope', 'output'));
  // Commands are what the city sends: the input shape, where `params` may be left out when empty.
  files.set('command.schema.json', schemaOf(commandSchema, 'command', 'input'));
  files.set('examples/command.result.rejected.json', json(envelopeSchemaFor('command.result').parse(rejectedResultExample)));
  for (const c of commandExamples()) {
    commandSchema.parse(c);
    files.set(`examples/command.${c.type}.json`, json(c));
  }
  return files;
}
