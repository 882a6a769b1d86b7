/**
 * deploy/install.sh into a staged root, the way an image or package build uses it, and the unit it installs checked by
 * systemd itself. Uses the built dist/ (npm run build).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuilt } from '../helpers/bin.js';
import { tempDir } from '../helpers/gateway.js';

const INSTALL = join(process.cwd(), 'deploy', 'install.sh');
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
// One staged install the tests only read; a test that changes a staged root (the upgrade) stages its own, so no test
// sees another's edits whatever the order. Every directory made here is removed at the end (a stage is ~300 MB).
let root: string;
let stagedOutput: string;
const dirs: string[] = [];
const dir = (prefix?: string): string => {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
};

function install(args: string[]) {
  return spawnSync('sh', [INSTALL, ...args], { encoding: 'utf8', timeout: 180_000 });
}

/** A fresh staged root. --no-prune: pruning a copy of node_modules is slow on a shared box and is npm's business, not ours. */
function stage(): { root: string; stdout: string } {
  const r0 = dir('campus-stage-');
  const r = install(['--root', r0, '--no-prune']);
  expect(r.status, r.stdout + r.stderr).toBe(0);
  return { root: r0, stdout: r.stdout };
}

beforeAll(() => {
  requireBuilt();
  ({ root, stdout: stagedOutput } = stage());
}, 240_000);
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('deploy/install.sh --root', () => {
  it('installs the release, the unit (enabled), the user, the config and a secrets file for root and the service', () => {
    expect(existsSync(join(root, 'opt/campus-gateway/dist/gateway/cli/main.js'))).toBe(true);
    expect(existsSync(join(root, 'opt/campus-gateway/node_modules/better-sqlite3'))).toBe(true);
    // Node-RED's palette and the default flows it seeds from (flows/node-red-contrib-campus/examples/).
    expect(existsSync(join(root, 'opt/campus-gateway/flows/node-red-contrib-campus/examples/co2-ventilation.json'))).toBe(true);
    const unit = readFileSync(join(root, 'etc/systemd/system/campus-gateway.service'), 'utf8');
    expect(unit).toContain('ExecStart=');
    expect(unit).toContain('/opt/campus-gateway/dist/gateway/cli/main.js start');
    const wants = join(root, 'etc/systemd/system/multi-user.target.wants/campus-gateway.service');
    expect(lstatSync(wants).isSymbolicLink()).toBe(true);
    expect(readlinkSync(wants)).toBe('/etc/systemd/system/campus-gateway.service');
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toMatch(/^campus-gateway:x:\d+:\d+:.*:\/var\/lib\/campus-gateway:\/usr\/sbin\/nologin$/m);

    // Root's; on the target, readable by the service's group, set by name at boot (a staged root's gid need not be the
    // target's: an attacker review found the stage's 999 was systemd-journal here). systemd-tmpfiles plays that boot.
    // The config too: it names the devices and holds their secrets' hashes.
    const secrets = join(root, 'etc/campus-gateway/secrets.env');
    const config = join(root, 'etc/campus-gateway/gateway.yaml');
    for (const file of [secrets, config]) {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect([statSync(file).uid, statSync(file).gid]).toEqual([0, 0]);
    }
    // What the installer says it made is what it made.
    expect(stagedOutput).toMatch(/secrets\.env \(mode 0600\b/);
    expect(stagedOutput).not.toContain('(mode 0640');
    const boot = spawnSync('systemd-tmpfiles', [`--root=${root}`, '--create', 'campus-gateway.conf'], { encoding: 'utf8' });
    expect(boot.status, boot.stderr).toBe(0);
    const gid = readFileSync(join(root, 'etc/group'), 'utf8').match(/^campus-gateway:x:(\d+):/m)?.[1];
    for (const file of [secrets, config]) {
      expect(statSync(file).mode & 0o777).toBe(0o640);
      expect(String(statSync(file).gid)).toBe(gid);
    }
    expect(statSync(join(root, 'var/lib/campus-gateway')).mode & 0o777).toBe(0o700);
    const text = readFileSync(secrets, 'utf8');
    expect(text).toMatch(/^CAMPUS_FLOW_SECRET=[0-9a-f]{64}$/m);
    expect(text).toMatch(/^CAMPUS_CAMERA_KEY=[0-9a-f]{64}$/m);
    expect(statSync(join(root, 'var/lib/campus-gateway')).isDirectory()).toBe(true);
  });

  it('installs a unit that systemd-analyze verify accepts without a warning', () => {
    const unit = join(root, 'etc/systemd/system/campus-gateway.service');
    // Verified on this host: ExecStart names the host's node (which must exist); the unit's other paths are the
    // prefix's, which exist only on the target.
    const r = spawnSync(SYSTEMD_ANALYZE, ['verify', '--man=no', unit], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // Unknown keys and bad values are only warnings with status 0: any line about our unit is a failure.
    expect(r.stderr.split('\n').filter((l) => l.includes('campus-gateway'))).toEqual([]);
    for (const key of ['ProtectSystem=strict', 'ProtectHome=yes', 'NoNewPrivileges=yes', 'PrivateTmp=yes', 'SupplementaryGroups=dialout',
      'StateDirectory=campus-gateway', 'Restart=on-failure', 'EnvironmentFile=/etc/campus-gateway/secrets.env', 'NODE_OPTIONS=--max-old-space-size=256',
      'MALLOC_MMAP_THRESHOLD_=131072']) {
      expect(readFileSync(unit, 'utf8')).toContain(key);
    }
  });

  it('the installed campus-gateway checks the installed config', () => {
    const bin = join(root, 'opt/campus-gateway/bin/campus-gateway');
    const config = join(root, 'etc/campus-gateway/gateway.yaml');
    const ok = spawnSync(bin, ['check-config', config], { encoding: 'utf8', env: { ...process.env, CAMPUS_DATA_DIR: dir() } });
    // Warnings only (no users yet, secrets not loaded outside the service), never a problem.
    expect(ok.stderr.split('\n').filter((l) => l && !l.startsWith('warning: '))).toEqual([]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('valid (school my-school');
    // An editor opening the installed file finds the installed JSON Schema (the example's own line is relative).
    const schemaLine = readFileSync(config, 'utf8').split('\n')[0];
    expect(schemaLine).toBe('# yaml-language-server: $schema=/opt/campus-gateway/docs/config.schema.json');
    expect(existsSync(join(root, 'opt/campus-gateway/docs/config.schema.json'))).toBe(true);

    // A broken config beside it, not over it: the staged config stays the installer's for the other tests.
    const broken = join(dir(), 'gateway.yaml');
    writeFileSync(broken, 'http:\n  port: 99999\n');
    const bad = spawnSync(bin, ['check-config', broken], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`${broken}:2:9: http.port`);
  });

  it('a second run upgrades the release and keeps the config and the secrets', () => {
    const { root } = stage();
    const secrets = readFileSync(join(root, 'etc/campus-gateway/secrets.env'), 'utf8');
    writeFileSync(join(root, 'etc/campus-gateway/gateway.yaml'), 'school:\n  id: kept\n');
    const r = install(['--root', root, '--no-prune']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('is upgraded');
    expect(readFileSync(join(root, 'etc/campus-gateway/secrets.env'), 'utf8')).toBe(secrets);
    expect(readFileSync(join(root, 'etc/campus-gateway/gateway.yaml'), 'utf8')).toBe('school:\n  id: kept\n');
    expect(existsSync(join(root, 'opt/campus-gateway/dist/gateway/cli/main.js'))).toBe(true);
  }, 420_000);

  it("refuses a Node.js older than 20.17 (Debian 12's own is 18)", () => {
    const bin = dir('old-node-');
    // Answers as Debian 12's node would when asked its version.
    writeFileSync(join(bin, 'node'), '#!/bin/sh\ncase "$1" in -p) echo 18.20.4 ;; -v) echo v18.20.4 ;; *) exit 1 ;; esac\n', { mode: 0o755 });
    const r = spawnSync('sh', [INSTALL, '--root', dir(), '--no-prune'], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:/usr/bin:/bin` } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('is Node.js 18.20.4; the gateway needs 20.17 or later');
  });

  it('refuses an unknown option and a relative prefix', () => {
    expect(install(['--bogus']).status).toBe(2);
    expect(install(['--root', dir(), '--prefix', 'opt/x']).status).toBe(2);
  });
});
