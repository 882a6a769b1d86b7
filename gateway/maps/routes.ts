/**
 * `/api/v1/maps`: admins create maps, upload their pictures and place pins; every signed-in role reads them. A floor
 * plan is not personal data (no person, card or picture of anyone is on it), and a viewer at the desk needs the map
 * to see where an alert is; it still needs a sign-in, as it shows where the cameras are and which doors lock.
 */
import { createReadStream } from 'node:fs';
import type { Router } from 'express';
import { z } from 'zod';
import { deviceId } from '../../config/common.js';
import { GatewayError } from '../core/errors.js';
import type { Guards } from '../http/guards.js';
import { rawUpload } from '../http/raw-upload.js';
import { parse } from '../http/validate.js';
import { MAP_IMAGE_TYPES, sniffImage } from './image.js';
import { pinSchema, type MapPin, type MapStore, type PinKind } from './store.js';

export const idParams = z.object({ id: z.coerce.number().int().positive() });
export const createBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  zone: deviceId.optional(),
});
/** At most 500 pins on one map: a large campus has a few hundred devices, and the editor sends the whole set. */
export const pinsBody = z.strictObject({ pins: z.array(pinSchema).max(500) });

/** Whether a device of a kind exists now (config, or registered at run time): given by the composition root. */
export type DeviceExists = (kind: PinKind, id: string) => boolean;

export function mapRoutes(api: Router, guards: Guards, opts: { store: MapStore; maxImageBytes: number; deviceExists: DeviceExists }): void {
  const { store, maxImageBytes, deviceExists } = opts;
  const admin = guards.role('admin');
  // Any content-type: what the file is comes from its bytes, never from the header the uploader chose.
  const rawBody = rawUpload({ limitBytes: maxImageBytes, tooLarge: `the picture is larger than ${maxImageBytes} bytes (maps.maxImageBytes)` });

  api.get('/maps', (_req, res) => {
    res.json({ items: store.list() });
  });
  api.post('/maps', admin, (req, res) => {
    res.status(201).json(store.create(parse(createBody, req.body)));
  });
  api.get('/maps/:id', (req, res) => {
    res.json(store.get(parse(idParams, req.params, 'params').id));
  });
  api.put(
    '/maps/:id/image',
    admin,
    (req, _res, next) => {
      store.get(parse(idParams, req.params, 'params').id); // 404 before the body is read
      next();
    },
    // Past maps.maxImageBytes: 413, nothing stored.
    rawBody,
    (req, res) => {
      const { id } = parse(idParams, req.params, 'params');
      const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (bytes.length === 0) throw new GatewayError('bad_request', 'body: send the picture (PNG, JPEG or WebP) as the request body');
      const type = sniffImage(bytes);
      if (!type) {
        throw new GatewayError('unsupported_media_type', `body: not a PNG, JPEG or WebP picture (by its content; SVG and other formats are refused)`, 415);
      }
      res.json(store.setImage(id, type, bytes));
    },
  );
  api.get('/maps/:id/image', (req, res) => {
    const { file, type, bytes } = store.image(parse(idParams, req.params, 'params').id);
    res.set({
      'content-type': type,
      'content-length': String(bytes),
      'x-content-type-options': 'nosniff',
      // Shown in an <img> only; should a browser open it as a page, it may run nothing.
      'content-security-policy': "default-src 'none'; sandbox",
      'cache-control': 'private, no-cache',
    });
    const stream = createReadStream(file);
    stream.on('error', () => {
      if (!res.headersSent) res.status(404).end();
      else res.destroy();
    });
    stream.pipe(res);
  });
  api.put('/maps/:id/pins', admin, (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    const { pins } = parse(pinsBody, req.body);
    const unknown = pins.filter((p) => !deviceExists(p.kind, p.deviceId));
    if (unknown.length) {
      throw new GatewayError('bad_request', `body.pins: no such device: ${unknown.slice(0, 5).map((p) => `${p.kind} ${p.deviceId}`).join(', ')}`);
    }
    const seen = new Set<string>();
    for (const p of pins as MapPin[]) {
      const key = `${p.kind}:${p.deviceId}`;
      if (seen.has(key)) throw new GatewayError('bad_request', `body.pins: ${p.kind} ${p.deviceId} is pinned twice`);
      seen.add(key);
    }
    res.json(store.setPins(id, pins));
  });
  api.delete('/maps/:id', admin, (req, res) => {
    store.delete(parse(idParams, req.params, 'params').id);
    res.status(204).end();
  });
}

export { MAP_IMAGE_TYPES };
