/** The published city contract: committed files are current, and every example validates against its JSON Schema. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contractFiles } from '../../cloud-sync/contract-files.js';
import { EXAMPLE_SIGNING_KEY } from '../../cloud-sync/examples.js';
import { CommandKeyRing, signatureProblem } from '../../cloud-sync/signing.js';
import { contractSchema } from './city.js';

const dir = join(import.meta.dirname, '..', '..', 'docs', 'city-contract');

describe('city contract in docs/city-contract', () => {
  it('is what `npm run contract` generates from the zod schemas (regenerate and commit after a change)', () => {
    for (const [path, text] of contractFiles()) expect(readFileSync(join(dir, path), 'utf8'), path).toBe(text);
  });

  it('has a schema and an example for every message type, and each example passes its own schema and the envelope schema', () => {
    const envelope = contractSchema('envelope');
    const examples = readdirSync(join(dir, 'examples')).filter((f) => !f.startsWith('command.') || f.startsWith('command.result'));
    expect(examples.length).toBe(10);
    for (const f of examples) {
      const example = JSON.parse(readFileSync(join(dir, 'examples', f), 'utf8')) as unknown;
      const type = f === 'command.result.rejected.json' ? 'command.result' : f.slice(0, -'.json'.length);
      expect(contractSchema(type).safeParse(example).success, f).toBe(true);
      expect(envelope.safeParse(example).success, f).toBe(true);
    }
  });

  it('validates every command example and refuses broken messages', () => {
    const command = contractSchema('command');
    const files = readdirSync(join(dir, 'examples')).filter((f) => f.startsWith('command.') && !f.startsWith('command.result'));
    expect(files.map((f) => f.slice(8, -5)).sort()).toEqual(['alert.ack', 'card.block', 'card.unblock', 'lockdown.end', 'lockdown.start', 'ping']);
    // The published examples are signed with the RFC 8032 example key, and their signatures verify.
    const keys = new CommandKeyRing([{ kid: EXAMPLE_SIGNING_KEY.kid, publicKey: EXAMPLE_SIGNING_KEY.publicRaw }]);
    for (const f of files) {
      const example = JSON.parse(readFileSync(join(dir, 'examples', f), 'utf8')) as Record<string, unknown>;
      expect(command.safeParse(example).success, f).toBe(true);
      expect(signatureProblem(example, (kid) => keys.get(kid)), f).toBeNull();
    }
    expect(command.safeParse({ id: 'x', schoolId: 's', type: 'card.block', issuedAt: '2026-09-01T00:00:00Z', params: { externalId: 'S1' } }).success).toBe(false);

    const envelope = contractSchema('envelope');
    const alert = JSON.parse(readFileSync(join(dir, 'examples', 'alert.raised.json'), 'utf8')) as Record<string, unknown>;
    expect(envelope.safeParse({ ...alert, id: 'not-a-ulid' }).success).toBe(false);
    expect(envelope.safeParse({ ...alert, stream: 'heartbeat' }).success).toBe(false);
    const { sentAt: _omit, ...unsent } = alert;
    expect(envelope.safeParse(unsent).success).toBe(false);
  });
});
