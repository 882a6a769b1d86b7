import { GatewayError } from '../core/errors.js';
import { SealedBox } from '../core/sealed-box.js';

/**
 * Camera passwords at rest: a `SealedBox` (gateway/core/sealed-box.ts) bound to the camera id (`camera:<id>`), so a
 * ciphertext copied onto another camera's row does not decrypt.
 */
export class CredentialBox {
  private readonly box: SealedBox;

  constructor(secretKey: string) {
    this.box = new SealedBox(secretKey);
  }

  encrypt(cameraId: string, plain: string): string {
    return this.box.seal(`camera:${cameraId}`, plain);
  }

  decrypt(cameraId: string, sealed: string): string {
    if (!SealedBox.isSealed(sealed)) throw new GatewayError('bad_credentials', `camera ${cameraId}: stored password is not in a known format`);
    const plain = this.box.open(`camera:${cameraId}`, sealed);
    if (plain === null) {
      throw new GatewayError(
        'bad_credentials',
        `camera ${cameraId}: cannot decrypt the stored password: was cameras.secretKey (CAMPUS_CAMERA_KEY) changed?`,
      );
    }
    return plain;
  }
}
