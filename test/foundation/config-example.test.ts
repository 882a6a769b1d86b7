/**
 * config/gateway.example.yaml (the file install.sh writes to /etc/campus-gateway/gateway.yaml) and the JSON Schema
 * editors read (issue 22, point 7): the example loads with the real loader, its `$schema` line points at the schema
 * file, and that file is what `npm run config:schema` writes, descriptions included.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/load.js';
import { configSchemaText } from '../../config/write-schema.js';
import { tempDir } from '../helpers/gateway.js';

const EXAMPLE = fileURLToPath(new URL('../../config/gateway.example.yaml', import.meta.url));
const SCHEMA_FILE = fileURLToPath(new URL('../../docs/config.schema.json', import.meta.url));

type JsonSchema = { description?: string; properties?: Record<string, JsonSchema> };

describe('config/gateway.example.yaml', () => {
  it('loads and validates with the real config loader', () => {
    const config = loadConfig({ file: EXAMPLE, env: {} });
    expect(config.school).toMatchObject({ id: 'my-school', name: 'My School', timezone: 'Asia/Shanghai' });
    expect(config.log.format).toBe('json');
  });

  it('the same loader refuses the example with a misspelt key, so the check above means something', () => {
    const bad = join(tempDir(), 'gateway.yaml');
    writeFileSync(bad, readFileSync(EXAMPLE, 'utf8').replace('timezone: Asia/Shanghai', 'timezon: Asia/Shanghai'));
    expect(() => loadConfig({ file: bad, env: {} })).toThrow(ConfigError);
  });

  it('starts with a yaml-language-server $schema line that points at the config schema', () => {
    const first = readFileSync(EXAMPLE, 'utf8').split('\n')[0]!;
    const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
    expect(m, first).not.toBeNull();
    const target = resolve(dirname(EXAMPLE), m![1]!);
    expect(existsSync(target), target).toBe(true);
    expect(target).toBe(SCHEMA_FILE);
  });
});

describe('docs/config.schema.json', () => {
  const text = readFileSync(SCHEMA_FILE, 'utf8');

  it('is what `npm run config:schema` writes', () => {
    expect(text, 'docs/config.schema.json is stale: run `npm run config:schema`').toBe(configSchemaText());
  });

  it("carries the schema's descriptions for an editor to show", () => {
    const schema = JSON.parse(text) as JsonSchema;
    const at = (...path: string[]): JsonSchema | undefined => path.reduce<JsonSchema | undefined>((s, k) => s?.properties?.[k], schema);
    for (const section of ['school', 'http', 'mqtt', 'storage', 'readers', 'access', 'sensors', 'cameras', 'cloud', 'nodeRed', 'notify']) {
      expect(at(section)?.description, section).toMatch(/\w/);
    }
    expect(at('school', 'timezone')?.description).toContain('IANA time zone');
    expect(at('http', 'port')?.description).toContain('HTTP port');
    expect(at('storage', 'synchronous')?.description).toContain('fsync');
  });
});
