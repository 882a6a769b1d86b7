/** `campus-gateway check-config`: each problem with the file, line and column of its field; warnings for the traps. */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { locateProblems, parsePath, positionOf } from '../../config/positions.js';
import { runBin } from '../helpers/bin.js';
import { tempDir } from '../helpers/gateway.js';

const BROKEN = `school:
  id: test-school
http:
  port: 99999
readers:
  - id: r1
    accessPoint: gate
    driver:
      type: serial
      path: /dev/ttyUSB0
      baudRate: "9600"
`;
const UNKNOWN_KEY = `access:
  antiPassbak: true
`;

describe('check-config positions', () => {
  it('parses paths and finds the line and column of a field, or of the nearest mapping the file has', () => {
    expect(parsePath('readers[0].driver.baudRate')).toEqual(['readers', 0, 'driver', 'baudRate']);
    expect(positionOf(BROKEN, ['http', 'port'])).toEqual({ line: 4, col: 9 });
    expect(positionOf(BROKEN, ['readers', 0, 'driver', 'baudRate'])).toEqual({ line: 11, col: 17 });
    expect(positionOf(BROKEN, ['http', 'host'])).toEqual({ line: 4, col: 3 }); // not in the file: its section
    expect(positionOf(BROKEN, ['mqtt', 'port'])).toBeNull();
    expect(locateProblems('f.yaml', BROKEN, ['http.port: too big'])).toEqual(['f.yaml:4:9: http.port: too big']);
  });

  it('prints file:line:column beside each field path', () => {
    const file = join(tempDir(), 'gateway.yaml');
    writeFileSync(file, BROKEN);
    const r = runBin(['check-config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${file}:4:9: http.port:`);
    expect(r.stderr).toContain(`${file}:11:17: readers[0].driver.baudRate: expected number, received string`);
    writeFileSync(file, UNKNOWN_KEY);
    expect(runBin(['check-config', file]).stderr).toContain(`${file}:2:3: access: Unrecognized key: "antiPassbak"`);
  });

  it('warns, without failing, about no users, Node-RED without a secret, a missing serial device, no backup directory', () => {
    const dataDir = join(tempDir(), 'data');
    mkdirSync(dataDir);
    const file = join(tempDir(), 'gateway.yaml');
    writeFileSync(
      file,
      `dataDir: ${dataDir}
access:
  accessPoints: [{ id: gate, name: Gate, kind: gate }]
readers:
  - { id: r1, accessPoint: gate, driver: { type: serial, path: /dev/ttyNOPE9 } }
`,
    );
    const r = runBin(['check-config', file], { env: { CAMPUS_FLOW_SECRET: '', CAMPUS_DATA_DIR: '' } });
    expect(r.status, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter(Boolean);
    expect(warnings.every((w) => w.startsWith('warning: '))).toBe(true);
    expect(warnings.some((w) => w.includes('no users'))).toBe(true);
    expect(warnings.some((w) => w.includes('Node-RED will be off'))).toBe(true);
    expect(warnings.some((w) => w.includes('readers[0].driver.path: /dev/ttyNOPE9 does not exist'))).toBe(true);
    expect(warnings.some((w) => w.startsWith('warning: backup.dir: not set'))).toBe(true);

    // Set, they go away.
    writeFileSync(file, `dataDir: ${dataDir}\nbackup: { dir: ${tempDir()} }\nnodeRed: { credentialSecret: 0123456789abcdef0123 }\n`);
    const quiet = runBin(['check-config', file], { env: { CAMPUS_FLOW_SECRET: '', CAMPUS_DATA_DIR: '' } });
    expect(quiet.stderr.split('\n').filter(Boolean)).toEqual([`warning: no users in ${dataDir}: the gateway will not start until you add one (campus-gateway user add <name> --role admin)`]);
  });

  it('warns when the data directory cannot be written by the user that runs it, or is under a file', () => {
    // Root may write anywhere: as root the check runs as nobody, the way the service's own user would meet the folder.
    const root = process.getuid?.() === 0;
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const readOnly = join(dir, 'read-only');
    mkdirSync(readOnly, { mode: 0o555 });
    chmodSync(readOnly, 0o555);
    const file = join(dir, 'gateway.yaml');
    const env = { CAMPUS_FLOW_SECRET: '', CAMPUS_DATA_DIR: '' };
    const as = root ? { uid: 65534, gid: 65534 } : undefined;
    writeFileSync(file, `dataDir: ${join(readOnly, 'data')}\nbackup: { dir: ${dir} }\nnodeRed: { enabled: false }\n`, { mode: 0o644 });
    const r = runBin(['check-config', file], { env, ...(as ? { as } : {}) });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: dataDir: ${join(readOnly, 'data')} is not writable by this user (${readOnly})`);

    // A folder it may write: no such warning.
    const writable = join(dir, 'writable');
    mkdirSync(writable, { mode: 0o777 });
    chmodSync(writable, 0o777);
    writeFileSync(file, `dataDir: ${join(writable, 'data')}\nbackup: { dir: ${dir} }\nnodeRed: { enabled: false }\n`);
    expect(runBin(['check-config', file], { env, ...(as ? { as } : {}) }).stderr).not.toContain('dataDir:');

    // A path under a file can never be made, whoever runs it.
    writeFileSync(join(dir, 'plain-file'), 'x');
    writeFileSync(file, `dataDir: ${join(dir, 'plain-file', 'data')}\nbackup: { dir: ${dir} }\nnodeRed: { enabled: false }\n`);
    expect(runBin(['check-config', file], { env }).stderr).toContain(`warning: dataDir: ${join(dir, 'plain-file', 'data')} cannot be made: ${join(dir, 'plain-file')} is a file, not a directory`);
  });
});
