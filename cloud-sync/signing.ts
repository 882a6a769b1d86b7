/**
 * Signed city commands: every command carries `kid` (which city key) and `sig`, the base64 Ed25519 signature
 * over the RFC 8785 canonical JSON of the command without `sig` (so `kid` is signed too). The scheme and test
 * vectors are in docs/city-contract/signing.md; `campus-gateway city-sign` produces such commands.
 */
import { createPrivateKey, sign, verify, type KeyObject } from 'node:crypto';
import { parseEd25519PublicKey } from '../config/command-keys.js';
import { canonicalJson, CanonicalJsonError } from './canonical-json.js';

export type SignatureProblem = 'unsigned' | 'unknown_key' | 'bad_signature';

const SIG_BASE64 = /^[A-Za-z0-9+/]{86}==$/;

/** The keys commands may be signed with, by kid. */
export class CommandKeyRing {
  private readonly keys = new Map<string, KeyObject>();
  constructor(keys: readonly { kid: string; publicKey: string }[]) {
    for (const k of keys) this.keys.set(k.kid, parseEd25519PublicKey(k.publicKey));
  }
  get(kid: string): KeyObject | undefined {
    return this.keys.get(kid);
  }
  get size(): number {
    return this.keys.size;
  }
}

/** The bytes the signature covers: the canonical JSON of the command without its `sig`. */
export function signedBytes(command: Record<string, unknown>): Buffer {
  const { sig: _sig, ...rest } = command;
  return Buffer.from(canonicalJson(rest), 'utf8');
}

/** The command with `kid` set and `sig` computed; any `sig` it had is replaced. */
export function signCommand<T extends Record<string, unknown>>(command: T, privateKey: KeyObject, kid: string): T & { kid: string; sig: string } {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`an ${privateKey.asymmetricKeyType ?? 'unknown'} key; city commands are signed with Ed25519`);
  const { sig: _old, ...rest } = command;
  const unsigned = { ...rest, kid } as Record<string, unknown>;
  const sig = sign(null, signedBytes(unsigned), privateKey).toString('base64');
  return { ...unsigned, sig } as T & { kid: string; sig: string };
}

export function loadPrivateKey(pem: string): KeyObject {
  const key = createPrivateKey({ key: pem, format: 'pem' });
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`an ${key.asymmetricKeyType ?? 'unknown'} private key; city commands are signed with Ed25519`);
  return key;
}

/**
 * null when the signature verifies with the key named by `kid`; otherwise why not. Checked before anything
 * else in the command is believed.
 */
export function signatureProblem(command: Record<string, unknown>, keys: (kid: string) => KeyObject | undefined): SignatureProblem | null {
  const { sig, kid } = command;
  if (sig === undefined || sig === null || sig === '') return 'unsigned';
  if (typeof kid !== 'string') return 'unknown_key';
  const key = keys(kid);
  if (!key) return 'unknown_key';
  if (typeof sig !== 'string' || !SIG_BASE64.test(sig)) return 'bad_signature';
  let data: Buffer;
  try {
    data = signedBytes(command);
  } catch (err) {
    if (err instanceof CanonicalJsonError) return 'bad_signature';
    throw err;
  }
  return verify(null, data, key, Buffer.from(sig, 'base64')) ? null : 'bad_signature';
}
