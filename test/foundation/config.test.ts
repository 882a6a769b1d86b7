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

/** What loading the file refuses it with (fails the test when it loads). */
function refusal(file: string): ConfigError {
  try {
    loadConfig({ file, env: {} });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`${file} loaded`);
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
    const err = refusal(configFile(`${WRONG_BAUD}\nhttp: { port: 70000 }\n`));
    const problems = err.problems;
    expect(problems).toContain('readers[2].driver.baudRate: expected number, received string');
    expect(problems.some((p) => p.startsWith('http.port:'))).toBe(true);
  });

  it('refuses to forget city command ids while a recorded command could still run again', () => {
    const err = refusal(configFile('retention: { commandsDays: 1 }\ncloud: { commandMaxAgeS: 86400 }\n'));
    expect(err.problems.join('\n')).toMatch(/^retention\.commandsDays: .*replayed command would run twice/m);
    expect(() => loadConfig({ file: configFile('retention: { commandsDays: 2 }\ncloud: { commandMaxAgeS: 86400 }\n'), env: {} })).not.toThrow();
  });

  it('names a reader bound to an access point that does not exist, and ids given twice', () => {
    const err = refusal(configFile(`
readers:
  - { id: gate-in, accessPoint: main-gate, direction: in, driver: { type: mqtt } }
  - { id: gate-in, accessPoint: mian-gate, direction: out, driver: { type: mqtt } }
access:
  accessPoints:
    - { id: main-gate, name: Main gate, kind: gate }
    - { id: main-gate, name: Main gate again, kind: gate }
`));
    expect(err.problems).toEqual([
      'readers[1].id: "gate-in" is also readers[0].id',
      'access.accessPoints[1].id: "main-gate" is also access.accessPoints[0].id',
      'readers[1].accessPoint: "mian-gate" is not an access point (access.accessPoints: main-gate)',
    ]);
  });

  it('names a broker login given twice, a device two sensors claim, and a camera at an access point that does not exist', () => {
    // A school IT review: a sensor called like the gate's reader passed the check and then locked the reader out of
    // the broker; a second review: two sensors on one Zigbee2MQTT name let one's login raise the other's leak alarm.
    const err = refusal(configFile(`
readers:
  - { id: gate-in, accessPoint: main-gate, direction: in, driver: { type: mqtt } }
access:
  accessPoints:
    - { id: main-gate, name: Main gate, kind: gate }
sensors:
  sensors:
    - { id: gate-in, zone: hall }
    - { id: zb-hall, zone: hall, source: { type: zigbee2mqtt, friendlyName: lab } }
    - { id: zb-leak, zone: lab, source: { type: zigbee2mqtt, friendlyName: lab } }
mqtt:
  services:
    - { username: zb-hall, secretHash: "scrypt$x" }
cameras:
  cameras:
    - { id: cam-1, name: Gate camera, host: 127.0.0.1, accessPoints: [main-gate, canten] }
`));
    expect(err.problems).toEqual([
      'sensors.sensors[0].id: "gate-in" is also readers[0].id: readers and sensors log in to the broker by id, services by username, one login a name',
      'mqtt.services[0].username: "zb-hall" is also sensors.sensors[1].id: readers and sensors log in to the broker by id, services by username, one login a name',
      'sensors.sensors[2].source.friendlyName: Zigbee2MQTT device "lab" is also sensors.sensors[1]\'s',
      'cameras.cameras[0].accessPoints[1]: "canten" is not an access point (access.accessPoints: main-gate)',
    ]);
  });

  it('says a file it cannot read is unreadable, not invalid', () => {
    const missing = join(tempDir(), 'nope.yaml');
    const err = refusal(missing);
    expect(err.message).toBe(`${missing}: cannot read the configuration\n  no such file`);
  });

  it('refuses a misspelt key, time zone or upstream scheme instead of running without them', () => {
    const err = refusal(configFile(`
school: { timezone: Asia/Shangai }
htpp: { port: 8080 }
access:
  accessPoints:
    - { id: east-gate, name: East gate, kind: gate, antiPasback: true }
cloud: { upstreamUrl: "htp://city.example" }
`));
    const problems = err.problems.join('\n');
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

  it('reports YAML syntax errors with their line and column, once', () => {
    expect(() => loadConfig({ file: configFile('http:\n  port: [1, 2\n'), env: {} })).toThrow(/line \d+/);
    expect(refusal(configFile('http:\n  port: 80\n  port: 81\n')).problems).toEqual(['line 3, column 3: Map keys must be unique']);
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

describe('transport policy for the city upstream', () => {
  const problemsOf = (yaml: string, env: NodeJS.ProcessEnv = {}): string => {
    try {
      loadConfig({ file: configFile(yaml), env });
      return '';
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).problems.join('\n');
    }
  };

  it('refuses plaintext to a host that is not this machine, and TLS that accepts any certificate', () => {
    expect(problemsOf('cloud: { upstreamUrl: "mqtt://city.example:1883" }\n')).toMatch(/^cloud\.upstreamUrl: plaintext mqtt:\/\/ to city\.example/);
    expect(problemsOf('cloud: { upstreamUrl: "http://10.0.0.5/city" }\n')).toMatch(/^cloud\.upstreamUrl: plaintext http:\/\/ to 10\.0\.0\.5/);
    // The environment variable is held to the same rule as the file.
    expect(problemsOf('', { CAMPUS_UPSTREAM_URL: 'mqtt://city.example' })).toMatch(/cloud\.upstreamUrl: plaintext/);
    expect(problemsOf('cloud: { upstreamUrl: "mqtts://city.example", tls: { rejectUnauthorized: false } }\n')).toMatch(
      /^cloud\.tls\.rejectUnauthorized: false accepts any certificate/,
    );
  });

  it('accepts TLS with verification, plaintext on loopback, and the insecure cases when allowInsecure says so', () => {
    for (const ok of [
      'cloud: { upstreamUrl: "mqtts://city.example:8883" }',
      'cloud: { upstreamUrl: "https://city.example/api" }',
      'cloud: { upstreamUrl: "mqtt://127.0.0.1:1883" }',
      'cloud: { upstreamUrl: "http://localhost:8080/city" }',
      'cloud: { upstreamUrl: "mqtt://[::1]:1883" }',
      'cloud: { upstreamUrl: "mqtt://city.example:1883", allowInsecure: true }',
      'cloud: { upstreamUrl: "mqtts://city.example", tls: { rejectUnauthorized: false }, allowInsecure: true }',
    ]) {
      expect(problemsOf(`${ok}\n`), ok).toBe('');
    }
  });

  it('check-config exits 2 with the field path for mqtt://city.example:1883, and 0 with allowInsecure', () => {
    const refused = runBin(['check-config', configFile('cloud: { upstreamUrl: "mqtt://city.example:1883" }\n')]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('cloud.upstreamUrl: plaintext mqtt:// to city.example');
    expect(refused.stderr).toContain('allowInsecure');
    const allowed = runBin(['check-config', configFile('cloud: { upstreamUrl: "mqtt://city.example:1883", allowInsecure: true }\n')]);
    // No error; check-config's warnings (no users, no backup dir…) may still be printed.
    expect(allowed.stderr).not.toMatch(/^(?!warning: ).+/m);
    expect(allowed.status).toBe(0);
  });

  it('start refuses certificate checks switched off with exit code 2', () => {
    const file = configFile('cloud: { upstreamUrl: "mqtts://127.0.0.1:1", tls: { rejectUnauthorized: false } }\n');
    const r = runBin(['start', '--demo', '--config', file], { env: { CAMPUS_DATA_DIR: tempDir(), CAMPUS_HTTP_PORT: '0', CAMPUS_MQTT_PORT: '0' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cloud.tls.rejectUnauthorized: false accepts any certificate');
  });

  it('refuses a command key that is not an Ed25519 public key, with the field path', () => {
    expect(problemsOf('cloud: { commandKeys: [{ kid: k1, publicKey: "bm90IGEga2V5" }] }\n')).toMatch(/^cloud\.commandKeys\[0\]\.publicKey: not an Ed25519 public key/);
    expect(problemsOf('cloud: { commandKeys: [{ kid: k1, publicKey: "WqZ8wzZQY54/DYy2pfALA0mUIOwa4VmvxWXGzokleFc=" }, { kid: k1, publicKey: "WqZ8wzZQY54/DYy2pfALA0mUIOwa4VmvxWXGzokleFc=" }] }\n')).toMatch(
      /cloud\.commandKeys\[1\]\.kid: "k1" is also commandKeys\[0\]\.kid/,
    );
  });
});
