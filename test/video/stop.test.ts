/**
 * The gateway stopping while an alert's clip waits for its post-roll: the clip is settled before stop() resolves,
 * while the database is still open, and says why it has no video; nothing is left to write after the database closed.
 * A simulated camera (ffmpeg's generated pattern) keeps the pre-roll, as the demo's do.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { accessPointsConfig, cameraGateway } from '../cameras/helpers.js';
import { waitFor } from '../helpers/gateway.js';
import { videoCameras, view } from './helpers.js';

it('an alert clip waiting for its post-roll as the gateway stops is recorded as not made before the database closes', { timeout: 60_000 }, async () => {
  // Before the fix, stop() left the clip waiting (post-roll plus 13 s): it then wrote its row to the closed
  // database ("The database connection is not open"), and an ffmpeg cut finishing late left a clip file without a row.
  const cam = { id: 'cam-sim', name: 'Simulated gate camera', host: 'simulated', simulated: true, accessPoints: ['gate-main'] };
  const gw = await cameraGateway({ ...videoCameras, preRollS: 2, postRollS: 5, segmentS: 1, cameras: [cam] }, accessPointsConfig('gate-main'));
  const token = await gw.login('guard', 'guard-password-1');
  await waitFor(async () => (await view(gw, token, 'cam-sim')).video.state === 'ok', 30_000, 200);
  await waitFor(() => readdirSync(join(gw.dataDir, 'preroll', 'cam-sim')).filter((n) => n.endsWith('.ts')).length >= 2, 30_000, 200);

  const alert = gw.ctx.alerts.raise({ type: 'lost_card_used', severity: 'critical', source: 'test', message: 'lost card at the gate', accessPoint: 'gate-main' });
  await new Promise((r) => setTimeout(r, 200)); // its evidence has started: the clip waits for 5 s of post-roll
  await gw.stop();

  const db = new Database(join(gw.dataDir, 'gateway.db'), { readonly: true });
  try {
    const clips = db.prepare('SELECT id, alert_id AS alertId, error FROM camera_clips').all() as { id: string; alertId: string; error: string | null }[];
    expect(clips).toEqual([{ id: expect.any(String), alertId: alert.id, error: 'no video: the gateway stopped before the clip was made' }]);
    const { clip_ids } = db.prepare('SELECT clip_ids FROM alerts WHERE id = ?').get(alert.id) as { clip_ids: string };
    expect(JSON.parse(clip_ids)).toEqual([clips[0]!.id]);
  } finally {
    db.close();
  }
});
