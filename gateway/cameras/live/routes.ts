import type { Router } from 'express';
import { z } from 'zod';
import { deviceId } from '../../../config/common.js';
import { GatewayError } from '../../core/errors.js';
import { HeldCounts } from '../../core/held-counts.js';
import { sessionNow, sessionOf, type Guards } from '../../http/guards.js';
import type { Role } from '../../auth/users.js';
import { parse } from '../../http/validate.js';
import type { CamerasModule } from '../module.js';
import { CLIP_ID } from './clips.js';
import type { LiveSink } from './pull.js';

/** How often a live stream checks that its session still stands (as the event streams do). */
const SESSION_RECHECK_MS = 5_000;

export const idParams = z.object({ id: deviceId });
export const clipParams = z.object({ id: z.string().regex(CLIP_ID, 'a clip id (ULID)') });
// Not strict: `access_token` rides along for players that cannot set headers.
export const liveQuery = z.object({ stream: z.enum(['main', 'sub']).default('main') });

/**
 * Live video and clips (docs/cameras.md). Images of children: admin and security only; the viewer role may watch
 * live only when `cameras.liveForViewers` says so, and never gets clips.
 */
export function videoRoutes(api: Router, guards: Guards, cameras: CamerasModule): void {
  const cfg = cameras.video.config;
  const staff = guards.role('admin', 'security');
  const watcherRoles: Role[] = cfg.liveForViewers ? ['admin', 'security', 'viewer'] : ['admin', 'security'];
  const watchers = guards.role(...watcherRoles);
  /** Live streams open per login: one leaked token must not take every viewer slot of a camera. */
  const perUser = new HeldCounts<string>();

  /**
   * Fragmented MP4 over one long HTTP response (chunked): the init segment, then fragments from the next keyframe
   * on. After an upstream restart a new init segment follows in the same response (MSE in `sequence` mode plays on).
   */
  api.get('/cameras/:id/live', watchers, (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    const { stream } = parse(liveQuery, req.query, 'query');
    cameras.registry.get(id); // 404 for an unknown camera
    const { username } = sessionOf(res);
    const mine = perUser.of(username);
    if (mine >= cfg.liveMaxPerUser) {
      throw new GatewayError('too_many_streams', `${username} already watches ${mine} live streams (cameras.liveMaxPerUser); close one`, 429);
    }
    let gone = false;
    let leave: () => void = () => {};
    let recheck: NodeJS.Timeout | undefined;
    const cut = (): void => {
      if (gone) return;
      gone = true;
      clearInterval(recheck);
      perUser.release(username);
      leave();
    };
    const write = (data: Buffer): void => {
      if (gone) return;
      // A viewer that cannot keep up is cut off rather than buffered without end; the others go on.
      if (res.writableLength > cfg.liveViewerBufferBytes) {
        cameras.video.viewerDropped('slow');
        cut();
        res.destroy();
        return;
      }
      res.write(data);
    };
    const sink: LiveSink = { init: write, fragment: write };
    res.status(200).set({
      'content-type': 'video/mp4',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-camera-id': id,
      'x-stream': stream,
    });
    perUser.add(username);
    try {
      leave = cameras.video.watch(id, stream, sink); // throws (no headers sent yet) when there is no video to give
    } catch (err) {
      cut();
      throw err;
    }
    if (!res.headersSent) res.flushHeaders();
    res.on('close', cut);
    // The role was checked once, at the start; the stream never ends by itself. It ends with its session (logout,
    // expiry, a new password or role, a removed user), or a dismissed guard's tablet would watch on.
    recheck = setInterval(() => {
      const s = sessionNow(res);
      if (s && watcherRoles.includes(s.role)) return;
      cut();
      res.destroy();
    }, SESSION_RECHECK_MS);
    recheck.unref();
  });

  api.get('/clips/:id/info', staff, (req, res) => {
    res.json(cameras.video.clips.get(parse(clipParams, req.params, 'params').id));
  });

  api.get('/clips/:id', staff, (req, res, next) => {
    const { id } = parse(clipParams, req.params, 'params');
    const meta = cameras.video.clips.get(id);
    if (meta.error) throw new GatewayError('no_video', `clip ${id}: ${meta.error}`, 409);
    // sendFile answers Range requests, which <video> uses to seek.
    res.sendFile(
      cameras.video.clips.file(id),
      {
        headers: {
          'content-type': 'video/mp4',
          'cache-control': 'private, no-store',
          'x-clip-id': meta.id,
          'x-camera-id': meta.cameraId,
          'x-event-at': meta.eventAt,
          ...(meta.startAt ? { 'x-clip-start-at': meta.startAt } : {}),
        },
      },
      (err) => {
        if (!err || res.headersSent) return;
        // A range the clip does not have is the request's fault (416), not a clip gone.
        next((err as { status?: number }).status === 416 ? err : new GatewayError('not_found', `clip ${id} is gone (pruned)`, 404));
      },
    );
  });
}
