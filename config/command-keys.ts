/**
 * Ed25519 public keys of the city, as a config file may give them: a PEM `PUBLIC KEY` block (SPKI) or the
 * base64 of the raw 32-byte key. Here, beside the config schema, so a bad key is refused at config load with
 * its field path rather than at the first command.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';

/** DER SubjectPublicKeyInfo header of an Ed25519 key (RFC 8410); the raw 32 bytes follow it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const RAW_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

export class CommandKeyError extends Error {
  readonly code = 'bad_command_key';
}

/** The key, or a CommandKeyError saying what is wrong with the text. */
export function parseEd25519PublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  if (trimmed.includes('-----BEGIN')) {
    if (!trimmed.startsWith('-----BEGIN PUBLIC KEY-----')) throw new CommandKeyError('expected a "BEGIN PUBLIC KEY" PEM block (not a private key or certificate)');
    try {
      key = createPublicKey({ key: trimmed, format: 'pem' });
    } catch (err) {
      throw new CommandKeyError(`unreadable PEM: ${(err as Error).message}`);
    }
  } else {
    if (!RAW_BASE64.test(trimmed)) throw new CommandKeyError('expected a PEM "BEGIN PUBLIC KEY" block or the base64 of the raw 32-byte Ed25519 key');
    key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(trimmed, 'base64')]), format: 'der', type: 'spki' });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new CommandKeyError(`an ${key.asymmetricKeyType ?? 'unknown'} key; city commands are signed with Ed25519`);
  return key;
}

/** The message of what is wrong with the key, or null when it is a usable Ed25519 public key. */
export function ed25519KeyProblem(text: string): string | null {
  try {
    parseEd25519PublicKey(text);
    return null;
  } catch (err) {
    return err instanceof CommandKeyError ? err.message : String(err);
  }
}
