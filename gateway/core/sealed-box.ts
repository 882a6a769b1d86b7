import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

/**
 * Small secrets at rest (camera passwords, guardians' mobile numbers): AES-256-GCM, `v1:<iv>:<tag>:<ciphertext>` in
 * base64url, bound to a context string (additional data, e.g. `camera:<id>`) so that a ciphertext copied onto
 * another row does not decrypt. One implementation for every domain that keeps such secrets.
 */
export class SealedBox {
  private readonly key: Buffer;

  /** 64 hex digits are a key; anything else is a passphrase, stretched with scrypt and a fixed salt (the key must be reproducible). */
  constructor(secretKey: string, salt = 'campus-edge-gateway/cameras/v1') {
    this.key = /^[0-9a-f]{64}$/i.test(secretKey) ? Buffer.from(secretKey, 'hex') : scryptSync(secretKey, salt, 32, { N: 16384, r: 8, p: 1 });
  }

  seal(context: string, plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join(':');
  }

  /** The plain text, or null when the sealed text is malformed, sealed for another context or with another key. */
  open(context: string, sealed: string): string | null {
    const parts = sealed.split(':');
    if (parts.length !== 4 || parts[0] !== 'v1') return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(parts[1]!, 'base64url'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(parts[2]!, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(parts[3]!, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }

  /** Whether the text has the sealed format (not whether it opens). */
  static isSealed(text: string): boolean {
    const parts = text.split(':');
    return parts.length === 4 && parts[0] === 'v1';
  }
}
