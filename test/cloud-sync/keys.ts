/** Command-signing keys for tests: made fresh per run, with the config entry a school would write. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface TestCityKey {
  kid: string;
  privateKey: KeyObject;
  /** PEM "BEGIN PUBLIC KEY", as it goes into cloud.commandKeys[].publicKey. */
  publicPem: string;
  /** The same key as base64 of the raw 32 bytes. */
  publicRaw: string;
  privatePem: string;
}

export function cityKey(kid: string): TestCityKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    kid,
    privateKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicRaw: publicKey.export({ type: 'spki', format: 'der' }).subarray(12).toString('base64'),
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
