/**
 * The import rules of .dependency-cruiser.cjs (`npm run check:boundaries`, run by .ci/run), run as CI runs them on a
 * copy of the project's sources in which files break a layer. One cruise: the copy must report exactly the breaks
 * made here, so it also shows that the untouched sources pass. (The JSON report always exits 0; CI's text report exits
 * with the count of errors, `summary.error` here.)
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const SOURCES = ['config', 'gateway', 'console', 'drivers', 'cloud-sync'];

interface Violation {
  rule: { name: string; severity: string };
  from: string;
  to: string;
  cycle?: { name: string }[];
}

const copy = mkdtempSync(join(tmpdir(), 'campus-boundaries-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

function cruise(): { errors: number; violations: Violation[]; stderr: string } {
  for (const f of SOURCES) cpSync(join(ROOT, f), join(copy, f), { recursive: true });
  for (const f of ['.dependency-cruiser.cjs', 'tsconfig.json', 'package.json']) copyFileSync(join(ROOT, f), join(copy, f));
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');

  // config/ imports the gateway: every file, alternately a value and a type-only import (both count).
  configFiles.forEach((f, i) =>
    appendFileSync(
      join(copy, 'config', f),
      i % 2 === 0 ? "\nimport { systemClock } from '../gateway/core/clock.js';\n" : "\nimport type { Logger } from '../gateway/core/logger.js';\n",
    ),
  );
  // core imports above itself.
  appendFileSync(join(copy, 'gateway/core/clock.ts'), "\nimport type { Database } from '../storage/db.js';\n");
  // The people <-> access folder loop, back again (access imports people/).
  appendFileSync(join(copy, 'gateway/people/store.ts'), "\nimport type { TapDecision } from '../access/contract.js';\n");
  // A domain and the CLI reaching a driver, a domain reaching cloud-sync.
  appendFileSync(join(copy, 'gateway/cameras/registry.ts'), "\nimport { discover } from '../../drivers/onvif/discovery.js';\n");
  appendFileSync(join(copy, 'gateway/cli/discover-cameras.ts'), "\nimport { createOnvifDriver } from '../../drivers/onvif/index.js';\n");
  appendFileSync(join(copy, 'gateway/alerts/alerts.ts'), "\nimport type { Stream } from '../../cloud-sync/contract.js';\n");
  // A driver reaching cloud-sync; a domain starting the whole gateway.
  appendFileSync(join(copy, 'drivers/rfid/module.ts'), "\nimport type { Stream } from '../../cloud-sync/contract.js';\n");
  appendFileSync(join(copy, 'gateway/sensors/module.ts'), "\nimport { startGateway } from '../compose.js';\n");
  // The browser console reaching past the API types, or taking them as a value; the API types re-exporting a value;
  // the gateway importing the console's sources.
  appendFileSync(join(copy, 'console/src/dom.ts'), "\nimport type { Clock } from '../../gateway/core/clock.js';\n");
  appendFileSync(join(copy, 'console/src/money.ts'), "\nimport { KeysetPage } from '../../gateway/api-types.js';\n");
  appendFileSync(join(copy, 'gateway/api-types.ts'), "\nexport { severitySchema } from './alerts/model.js';\n");
  appendFileSync(join(copy, 'gateway/console/console.ts'), "\nimport type { Alert } from '../../console/src/types.js';\n");
  // The broker loading the config schema for a value; a type from it is allowed (erased).
  appendFileSync(join(copy, 'gateway/broker/acl.ts'), "\nimport { mqttConfig } from '../../config/schema.js';\n");
  appendFileSync(join(copy, 'gateway/broker/grants.ts'), "\nimport type { GatewayConfig } from '../../config/schema.js';\n");

  const r = spawnSync(process.execPath, [DEPCRUISE, '--config', '.dependency-cruiser.cjs', '--output-type', 'json', ...SOURCES], {
    cwd: copy,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const { summary } = JSON.parse(r.stdout) as { summary: { error: number; violations: Violation[] } };
  return { errors: summary.error, violations: summary.violations, stderr: r.stderr };
}

const configFiles = readdirSync(join(ROOT, 'config')).filter((f) => f.endsWith('.ts'));

describe('import boundaries (npm run check:boundaries)', () => {
  it('fails on exactly the imports that break a layer, and names each file', { timeout: 180_000 }, () => {
    const { errors, violations, stderr } = cruise();
    expect(stderr).toBe('');
    expect(errors).toBe(violations.length);
    expect(errors).toBeGreaterThan(0);

    const byRule = (name: string): string[] =>
      violations
        .filter((v) => v.rule.name === name)
        .map((v) => `${v.from} -> ${v.to}`)
        .sort();
    expect(byRule('config-imports-nothing')).toEqual(
      configFiles
        .map((f, i) => `config/${f} -> gateway/core/${i % 2 === 0 ? 'clock' : 'logger'}.ts`)
        .sort(),
    );
    expect(byRule('core-imports-only-config')).toEqual(['gateway/core/clock.ts -> gateway/storage/db.ts']);
    expect(byRule('only-compose-wires-drivers')).toEqual([
      'gateway/cameras/registry.ts -> drivers/onvif/discovery.ts',
      'gateway/cli/discover-cameras.ts -> drivers/onvif/index.ts',
    ]);
    expect(byRule('only-compose-and-cli-reach-cloud-sync')).toEqual(['gateway/alerts/alerts.ts -> cloud-sync/contract.ts']);
    expect(byRule('drivers-not-cloud-sync-or-flows')).toEqual(['drivers/rfid/module.ts -> cloud-sync/contract.ts']);
    expect(byRule('only-cli-imports-compose')).toEqual(['gateway/sensors/module.ts -> gateway/compose.ts']);
    expect(byRule('console-imports-only-api-types')).toEqual(['console/src/dom.ts -> gateway/core/clock.ts']);
    expect(byRule('console-takes-api-types-as-types')).toEqual(['console/src/money.ts -> gateway/api-types.ts']);
    expect(byRule('api-types-only-types')).toEqual(['gateway/api-types.ts -> gateway/alerts/model.ts']);
    expect(byRule('nothing-imports-console')).toEqual(['gateway/console/console.ts -> console/src/types.ts']);
    expect(byRule('broker-loads-no-config-schema')).toEqual(['gateway/broker/acl.ts -> config/schema.ts']);

    // Folder loops: the people -> access one is found, and every loop reported runs through an import added above.
    const added = [
      'gateway/people -> gateway/access',
      'config -> gateway/core',
      'gateway/core -> gateway/storage',
      'gateway/cameras -> drivers/onvif',
      'gateway/cli -> drivers/onvif',
      'gateway/alerts -> cloud-sync',
      'drivers/rfid -> cloud-sync',
      'gateway/sensors -> gateway',
      // console/src takes the API types from the gateway folder itself (gateway/api-types.ts).
      'gateway/console -> console/src',
      'gateway -> console/src',
    ];
    const loops = violations
      .filter((v) => v.rule.name === 'no-folder-cycles')
      .map((v) => [v.from, ...(v.cycle ?? []).map((s) => s.name)])
      .map((path) => path.slice(1).map((to, i) => `${path[i]} -> ${to}`));
    expect(loops.some((steps) => steps.includes('gateway/people -> gateway/access'))).toBe(true);
    for (const steps of loops) expect(steps.filter((s) => added.includes(s)), steps.join(', ')).not.toEqual([]);

    // Nothing else: the untouched sources keep every rule, with no allowance in the config.
    const known = [
      'config-imports-nothing',
      'core-imports-only-config',
      'only-compose-wires-drivers',
      'only-compose-and-cli-reach-cloud-sync',
      'drivers-not-cloud-sync-or-flows',
      'only-cli-imports-compose',
      'console-imports-only-api-types',
      'console-takes-api-types-as-types',
      'api-types-only-types',
      'nothing-imports-console',
      'broker-loads-no-config-schema',
      'no-folder-cycles',
    ];
    expect(violations.filter((v) => !known.includes(v.rule.name))).toEqual([]);
    expect(violations.every((v) => v.rule.severity === 'error')).toBe(true);
  });
});
