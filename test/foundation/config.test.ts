import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/load.js';
import { tempDir } from '../helpers/gateway.js';
import { runBin } from '../helpers/bin.js';

function configFile(text: string): string {
  const file = join(tempDir(), 'gateway.yaml');
  writeFileSync(file, text);
  return file;
}

const WRONG_BAUD = `
school: { id: test-school }
readers:
  - { id: r1, accessPoint: gate, driver: { type: mqtt } }
  - { id: r2, accessPoint: gate, driver: { type: mqtt } }
  - id: r3
    accessPoint: gate
    driver: { type: serial, path: /dev/ttyUSB0, baudRate: "9600" }
`;

describe('configuration', () => {
  it('fills every default from an empty file', () => {
    const config = loadConfig({ file: configFile(''), env: {} });
    expect(config.http.port).toBe(8080);
    expect(config.mqtt.port).toBe(1883);
    expect(config.dataDir).toBe('./data');
    expect(config.storage.synchronous).toBe('normal');
  });

  it('names the field path of each problem', () => {
    let err: unknown;
    try {
      loadConfig({ file: configFile(`${WRONG_BAUD}\nhttp: { port: 70000 }\n`), env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toContain('readers[2].driver.baudRate: expected number, received string');
    expect(problems.some((p) => p.startsWith('http.port:'))).toBe(true);
  });

  it('names a reader bound to an access point that does not exist, and ids given twice', () => {
    let err: unknown;
    try {
      loadConfig({
        file: configFile(`
readers:
  - { id: gate-in, accessPoint: main-gate, direction: in, driver: { type: mqtt } }
  - { id: gate-in, accessPoint: mian-gate, direction: out, driver: { type: mqtt } }
access:
  accessPoints:
    - { id: main-gate, name: Main gate, kind: gate }
    - { id: main-gate, name: Main gate again, kind: gate }
`),
        env: {},
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'readers[1].id: "gate-in" is also readers[0].id',
      'access.accessPoints[1].id: "main-gate" is also access.accessPoints[0].id',
      'readers[1].accessPoint: "mian-gate" is not an access point (access.accessPoints: main-gate)',
    ]);
  });

  it('refuses a misspelt key, time zone or upstream scheme instead of running without them', () => {
    let err: unknown;
    try {
      loadConfig({
        file: configFile(`
school: { timezone: Asia/Shangai }
htpp: { port: 8080 }
access:
  accessPoints:
    - { id: east-gate, name: East gate, kind: gate, antiPasback: true }
cloud: { upstreamUrl: "htp://city.example" }
`),
        env: {},
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toMatch(/school\.timezone: not an IANA time zone/);
    expect(problems).toMatch(/htpp/);
    expect(problems).toMatch(/access\.accessPoints\[0\].*antiPasback/);
    expect(problems).toMatch(/cloud\.upstreamUrl: use mqtt:\/\/, mqtts:\/\/ or https:\/\//);
  });

  it('applies environment overrides over the file, and rejects a bad port variable', () => {
    const file = configFile('http: { port: 9000 }\n');
    const config = loadConfig({ file, env: { CAMPUS_HTTP_PORT: '0', CAMPUS_MQTT_PORT: '11883', CAMPUS_DATA_DIR: '/tmp/x' } });
    expect(config.http.port).toBe(0);
    expect(config.mqtt.port).toBe(11883);
    expect(config.dataDir).toBe('/tmp/x');
    expect(() => loadConfig({ file, env: { CAMPUS_HTTP_PORT: 'eighty' } })).toThrow(/CAMPUS_HTTP_PORT/);
  });

  it('reports YAML syntax errors with a line number', () => {
    expect(() => loadConfig({ file: configFile('http:\n  port: [1, 2\n'), env: {} })).toThrow(/line \d+/);
  });
});

describe('campus-gateway check-config', () => {
  it('exits 2 and names the field path for a wrong type', () => {
    const r = runBin(['check-config', configFile(WRONG_BAUD)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('readers[2].driver.baudRate: expected number, received string');
  });

  it('exits 0 for a valid file', () => {
    const r = runBin(['check-config', configFile('school: { id: ok-school }\n')]);
    // Only warnings (test/operations/check-config.test.ts), never a problem.
    expect(r.stderr.split('\n').filter((l) => l && !l.startsWith('warning: '))).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('valid');
  });

  it('start refuses an invalid file with exit code 2', () => {
    const r = runBin(['start', '--config', configFile(WRONG_BAUD)], { env: { CAMPUS_DATA_DIR: tempDir() } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('readers[2].driver.baudRate');
  });
});
