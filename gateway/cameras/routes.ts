import { createReadStream } from 'node:fs';
import type { Response, Router } from 'express';
import { z } from 'zod';
import { deviceId } from '../../config/common.js';
import type { Guards } from '../http/guards.js';
import { parse } from '../http/validate.js';
import type { CamerasModule } from './module.js';
import { cameraCreateSchema, cameraUpdateSchema } from './registry.js';
import { SNAPSHOT_ID, type SnapshotMeta } from './snapshots.js';

export const idParams = z.object({ id: deviceId });
export const presetParams = z.object({ id: deviceId, preset: z.string().min(1).max(64) });
export const snapshotParams = z.object({ id: z.string().regex(SNAPSHOT_ID, 'a snapshot id (ULID)') });
export const snapshotQuery = z.object({ fresh: z.enum(['1', 'true', '0', 'false']).optional() });

function sendJpeg(res: Response, file: string, meta: SnapshotMeta): void {
  res.set({
    'content-type': 'image/jpeg',
    'content-length': String(meta.bytes),
    'cache-control': 'private, no-store',
    'x-snapshot-id': meta.id,
    'x-snapshot-taken-at': meta.takenAt,
    'x-camera-id': meta.cameraId,
  });
  const stream = createReadStream(file);
  stream.on('error', () => {
    // Pruned between lookup and read: the client sees a cut response rather than a hung one.
    if (!res.headersSent) res.status(404).end();
    else res.destroy();
  });
  stream.pipe(res);
}

/** Routes under /api/v1 (see docs/cameras.md). Pictures of people: only admin and security see them. */
export function cameraRoutes(api: Router, guards: Guards, cameras: CamerasModule): void {
  const staff = guards.role('admin', 'security');
  const admin = guards.role('admin');

  api.get('/cameras', (_req, res) => {
    res.json({ items: cameras.states() });
  });
  api.post('/cameras/discover', admin, async (_req, res) => {
    res.json({ items: await cameras.discover() });
  });
  api.get('/cameras/:id', (req, res) => {
    res.json(cameras.view(parse(idParams, req.params, 'params').id));
  });
  api.post('/cameras', admin, (req, res) => {
    const created = cameras.registry.create(parse(cameraCreateSchema, req.body));
    res.status(201).json(cameras.view(created.id));
  });
  api.put('/cameras/:id', admin, (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    cameras.registry.update(id, parse(cameraUpdateSchema, req.body));
    res.json(cameras.view(id));
  });
  api.delete('/cameras/:id', admin, (req, res) => {
    cameras.registry.remove(parse(idParams, req.params, 'params').id);
    res.status(204).end();
  });
  api.post('/cameras/:id/ptz/:preset', staff, async (req, res) => {
    const { id, preset } = parse(presetParams, req.params, 'params');
    res.json({ cameraId: id, ...(await cameras.recallPreset(id, preset)) });
  });
  api.get('/cameras/:id/snapshot', staff, async (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    const fresh = ['1', 'true'].includes(parse(snapshotQuery, req.query, 'query').fresh ?? '');
    cameras.registry.get(id); // 404 for an unknown camera before anything else
    const meta = (!fresh && cameras.snapshots.latest(id)) || (await cameras.takeSnapshot(id, 'fresh'));
    sendJpeg(res, cameras.snapshots.file(meta.id), meta);
  });
  api.get('/snapshots/:id', staff, (req, res) => {
    const { id } = parse(snapshotParams, req.params, 'params');
    const meta = cameras.snapshots.get(id);
    sendJpeg(res, cameras.snapshots.file(meta.id), meta);
  });
}
