/**
 * A file sent as the request body (a roster CSV, a floor plan), read whole up to a byte cap. Past the cap
 * body-parser stops reading (at once when content-length says so) and the answer is a typed 413 naming the setting,
 * so nothing half-read is ever stored.
 */
import express, { type RequestHandler } from 'express';
import { GatewayError } from '../core/errors.js';

export interface RawUploadOptions {
  limitBytes: number;
  /** The content types read; others leave the body empty. Default: every type (what a file is then comes from its bytes). */
  types?: string[];
  /** What the 413 says, e.g. `the file is larger than 2097152 bytes (roster.maxBytes)`. */
  tooLarge: string;
}

export function rawUpload({ limitBytes, types, tooLarge }: RawUploadOptions): RequestHandler {
  const read = express.raw({ type: types ?? (() => true), limit: limitBytes });
  return (req, res, next) =>
    read(req, res, (err?: unknown) =>
      next(err !== undefined && (err as { status?: number }).status === 413 ? new GatewayError('payload_too_large', tooLarge, 413) : err),
    );
}
