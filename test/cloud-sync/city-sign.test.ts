/**
 * The built `campus-gateway city-sign` / `city-keygen` as a city integrator runs them: a key pair, a command
 * signed from a file and from stdin, and the output verifies the way the gateway checks it. Also the published
 * test vector of docs/city-contract/signing.md.
 */
import { statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandSchema } from '../../cloud-sync/contract.js';
import { EXAMPLE_SIGNING_KEY } from '../../cloud-sync/examples.js';
import { canonicalJson } from '../../cloud-sync/canonical-json.js';
import { CommandKeyRing, signatureProblem, signedBytes } from '../../cloud-sync/signing.js';
import { runBin } from '../helpers/bin.js';
import { tempDir } from '../helpers/gateway.js';
import { cityKey } from './keys.js';

describe('campus-gateway city-keygen and city-sign', () => {
  /** A key pair made by the built city-keygen, in a folder of the test's own. */
  function keygen(): { dir: string; keyFile: string; ring: CommandKeyRing; stdout: string; stderr: string; status: number | null } {
    const dir = tempDir();
    const keyFile = join(dir, 'city.pem');
    const r = runBin(['city-keygen', '--kid', 'city-2026-09', '--out', keyFile]);
    const publicKey = /publicKey: (\S+)/.exec(r.stdout)?.[1];
    const ring = new CommandKeyRing(publicKey ? [{ kid: 'city-2026-09', publicKey }] : []);
    return { dir, keyFile, ring, stdout: r.stdout, stderr: r.stderr, status: r.status };
  }

  it('city-keygen writes a 0600 private key and prints the public key as a cloud.commandKeys entry', () => {
    const { keyFile, ...r } = keygen();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(r.stdout).toContain('kid: city-2026-09');
    expect(/publicKey: (\S+)/.exec(r.stdout)?.[1]).toBeTruthy();
    // Never overwrites a key.
    const again = runBin(['city-keygen', '--kid', 'x', '--out', keyFile]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('exists');
  });

  it('signs a command from a file, adding kid and issuedAt, and the gateway\'s check accepts it', () => {
    const { dir, keyFile, ring } = keygen();
    const file = join(dir, 'lockdown.json');
    writeFileSync(file, JSON.stringify({ id: 'cli-1', schoolId: 'demo-school', type: 'lockdown.start', params: { reason: 'drill' } }));
    const before = Date.now();
    const r = runBin(['city-sign', '--key', keyFile, '--kid', 'city-2026-09', '--expires-in', '120', file]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const signed = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(signed).toMatchObject({ id: 'cli-1', kid: 'city-2026-09' });
    expect(Date.parse(signed.issuedAt as string)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(signed.expiresAt as string) - Date.parse(signed.issuedAt as string)).toBe(120_000);
    expect(commandSchema.safeParse(signed).success).toBe(true);
    expect(signatureProblem(signed, (kid) => ring.get(kid))).toBeNull();
    // Any change after signing breaks it.
    expect(signatureProblem({ ...signed, type: 'lockdown.end' }, (kid) => ring.get(kid))).toBe('bad_signature');
  });

  it('signs from stdin, keeps a given issuedAt, and refuses what the gateway would not run', () => {
    const { dir, keyFile, ring } = keygen();
    const cmd = { id: 'cli-2', schoolId: 'demo-school', type: 'ping', issuedAt: '2026-09-01T00:00:00Z' };
    const r = runBin(['city-sign', '--key', keyFile, '--kid', 'city-2026-09', '--pretty'], { input: JSON.stringify(cmd) });
    expect(r.status).toBe(0);
    const signed = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(signed.issuedAt).toBe('2026-09-01T00:00:00Z');
    expect(signatureProblem(signed, (kid) => ring.get(kid))).toBeNull();

    const bad = runBin(['city-sign', '--key', keyFile, '--kid', 'city-2026-09'], { input: JSON.stringify({ id: 'x', type: 'self.destruct' }) });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/\(stdin\)/);
    const notJson = runBin(['city-sign', '--key', keyFile, '--kid', 'k'], { input: '{"id":' });
    expect(notJson.status).toBe(2);
    const pubAsKey = join(dir, 'public.pem');
    writeFileSync(pubAsKey, cityKey('x').publicPem);
    const wrongKey = runBin(['city-sign', '--key', pubAsKey, '--kid', 'k'], { input: JSON.stringify(cmd) });
    expect(wrongKey.status).toBe(2);
    expect(wrongKey.stderr).toContain('--key');
  });
});

describe('the test vector of docs/city-contract/signing.md', () => {
  it('is the canonical form and signature of the published ping example, with the RFC 8032 TEST 1 key', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'city-contract', 'signing.md'), 'utf8');
    const example = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'city-contract', 'examples', 'command.ping.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const ring = new CommandKeyRing([{ kid: EXAMPLE_SIGNING_KEY.kid, publicKey: EXAMPLE_SIGNING_KEY.publicRaw }]);
    expect(signatureProblem(example, (kid) => ring.get(kid))).toBeNull();
    const { sig, ...unsigned } = example;
    expect(doc).toContain(canonicalJson(unsigned));
    expect(signedBytes(example).toString('utf8')).toBe(canonicalJson(unsigned));
    expect(doc).toContain(sig as string);
    expect(doc).toContain(EXAMPLE_SIGNING_KEY.publicRaw);
  });
});
