import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { GatewayError } from '../core/errors.js';

/**
 * Camera passwords at rest: AES-256-GCM, `v1:<iv>:<tag>:<ciphertext>` in base64url, bound to the camera id
 * (additional data) so a ciphertext copied onto another camera's row does not decrypt.
 */
export class CredentialBox {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    // 64 hex digits are a key; anything else is a passphrase, stretched (fixed salt: the key must be reproducible).
    this.key = /^[0-9a-f]{64}$/i.test(secretKey)
      ? Buffer.from(secretKey, 'hex')
      : scryptSync(secretKey, 'campus-edge-gateway/cameras/v1', 32, { N: 16384, r: 8, p: 1 });
  }

  encrypt(cameraId: string, plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(`camera:${cameraId}`));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join(':');
  }

  decrypt(cameraId: string, sealed: string): string {
    const parts = sealed.split(':');
    if (parts.length !== 4 || parts[0] !== 'v1') throw new GatewayError('bad_credentials', `camera ${cameraId}: stored password is not in a known format`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(parts[1]!, 'base64url'));
      decipher.setAAD(Buffer.from(`camera:${cameraId}`));
      decipher.setAuthTag(Buffer.from(parts[2]!, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(parts[3]!, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new GatewayError(
        'bad_credentials',
        `camera ${cameraId}: cannot decrypt the stored password: was cameras.secretKey (CAMPUS_CAMERA_KEY) changed?`,
      );
    }
  }
}
