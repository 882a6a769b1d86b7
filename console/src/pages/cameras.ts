/** The camera wall: a tile per camera with its latest snapshot, online state and last event. */
import { nameOf } from '../names.js';
import { ApiError, getBlobAnswer, getJson, isConnectionError } from '../api.js';
import { asList, obj, str, type Json } from '../data.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n/index.js';
import { fmtAgo, fmtClock, fmtDateTime, schoolDate } from '../time.js';
import type { Page } from '../router.js';
import { can } from '../session.js';
import { readThrough } from '../lastgood.js';
import { badge, codeLabel, empty, fillFrom, loading, pageHeader, StaleNotice } from '../ui.js';
import { livePlayer } from '../video.js';

export function cameraState(c: Json): string {
  const s = str(c, 'state', 'status');
  if (s) return s;
  return c.online === true ? 'online' : c.online === false ? 'offline' : 'unknown';
}

export function cameraName(c: Json): string {
  return nameOf(c);
}

export function lastEventText(c: Json): string | undefined {
  const e = obj(c, 'lastEvent');
  if (!e) return undefined;
  const kind = str(e, 'kind', 'type', 'topic') ?? '';
  const at = str(e, 'at', 'occurredAt', 'time');
  return `${codeLabel('cameraEvent', kind)}${at ? ` · ${fmtAgo(at)}` : ''}`;
}

/**
 * What is known of a camera's last picture: when it was taken (`x-snapshot-taken-at`), that the gateway has none
 * (it answered without one), or nothing (it did not answer, or did not say when).
 */
export type LastPicture = { takenAt: string } | 'none' | 'unknown';

/** A snapshot as kept for when the gateway does not answer: its time stays with it, so a stale wall still says it. */
interface Snapshot {
  blob: Blob;
  takenAt: string | null;
}

/**
 * Loads a camera's latest snapshot into an <img> (the endpoint needs the bearer token, so no plain src). While the
 * gateway does not answer, the last picture this tab got of the camera stays (or comes back on a new page).
 */
export async function loadSnapshot(img: HTMLImageElement, cameraId: string, signal: AbortSignal, fresh = false): Promise<LastPicture> {
  try {
    const path = `/cameras/${encodeURIComponent(cameraId)}/snapshot`;
    const { value } = await readThrough(path, async (): Promise<Snapshot> => {
      const { blob, headers } = await getBlobAnswer(path, fresh ? { fresh: 1 } : {});
      return { blob, takenAt: headers.get('x-snapshot-taken-at') };
    });
    if (signal.aborted) return 'unknown';
    const old = img.src;
    img.src = URL.createObjectURL(value.blob);
    img.classList.remove('missing');
    if (old.startsWith('blob:')) URL.revokeObjectURL(old);
    signal.addEventListener('abort', () => URL.revokeObjectURL(img.src), { once: true });
    return value.takenAt ? { takenAt: value.takenAt } : 'unknown';
  } catch (err) {
    if (img.src.startsWith('blob:')) return 'unknown'; // a picture already shown stays
    img.classList.add('missing');
    img.alt = t('cameras.noSnapshot');
    // The gateway answered with an error: it has no stored picture and could not take one now. Not answering says
    // nothing about the camera.
    return err instanceof ApiError && !isConnectionError(err) ? 'none' : 'unknown';
  }
}

/** An offline tile's line about its last picture: "Last picture at 08:05", with the date when not today's. */
export function lastPictureText(p: LastPicture): string {
  if (p === 'unknown') return '';
  if (p === 'none') return t('cameras.noPictureYet');
  // A camera down since yesterday: "at 08:05" alone would read as this morning.
  const at = schoolDate(p.takenAt) === schoolDate(Date.now()) ? fmtClock(p.takenAt) : fmtDateTime(p.takenAt);
  return t('cameras.lastPictureAt', { at });
}

/**
 * Tiles that play live at once. A browser opens at most 6 HTTP/1.1 connections to the gateway, and each live tile holds
 * one for good: with a tile per camera, the event stream and every other request (the lockdown banner's too) waited
 * behind the videos (a security-desk walkthrough, 7 cameras: no banner for 20 s). The other tiles show snapshots,
 * refreshed with the wall; a click on any tile opens its camera live.
 */
export const LIVE_TILES_MAX = 3;

export const camerasPage: Page = (ctx) => {
  const { root, signal } = ctx;
  const wall = h('div', { class: 'camera-wall', 'data-test': 'camera-wall' }, loading());
  const notice = new StaleNotice();
  replace(root, pageHeader(t('cameras.title')), notice.el, wall);
  // One player per live camera while it stays among the live ones (the wall re-renders every 15 s; the video must not
  // restart); one that leaves them is stopped, so its connection is freed.
  const players = new Map<string, { video: HTMLVideoElement | null; stop: AbortController }>();
  // Why a tile's video gave up, said on the tile (it kept saying "online" over a still picture).
  const gaveUp = new Map<string, string>();
  const liveTile = (id: string): HTMLVideoElement | null => {
    if (!players.has(id)) {
      const stop = new AbortController();
      // Removed when the player is stopped: a wall left open while cameras come and go must not collect listeners.
      const abort = (): void => stop.abort();
      signal.addEventListener('abort', abort, { once: true });
      stop.signal.addEventListener('abort', () => signal.removeEventListener('abort', abort), { once: true });
      const p = livePlayer(id, 'sub', stop.signal, (why) => {
        if (why !== 'no_video') {
          p.video.remove();
          players.set(id, { video: null, stop });
          const text = why === 'codec' ? t('cameras.liveCodec') : t('cameras.liveNoVideo');
          gaveUp.set(id, text);
          const tile = wall.querySelector(`[data-test=camera-tile][data-id="${CSS.escape(id)}"] .tile-body`);
          tile?.append(h('span', { class: 'muted small', 'data-test': 'tile-video-gone' }, text));
        }
      });
      p.video.classList.add('tile-video');
      players.set(id, { video: p.video, stop });
    }
    return players.get(id)?.video ?? null;
  };
  const keepLive = (ids: ReadonlySet<string>): void => {
    for (const [id, p] of players) {
      if (ids.has(id)) continue;
      p.stop.abort();
      p.video?.remove();
      players.delete(id);
      gaveUp.delete(id); // a player started again may well play
    }
  };

  // While the gateway does not answer, the wall stays as it was (pictures too) under the page's notice.
  const render = (): Promise<boolean> =>
    fillFrom(
      wall,
      notice,
      '/cameras',
      async () => asList(await getJson<unknown>('/cameras'), 'cameras'),
      (cameras) => {
        if (cameras.length === 0) return empty(t('cameras.none'));
        const pictures = can.snapshots(ctx.session.role);
        const live = new Set(
          pictures ? cameras.filter((c) => cameraState(c) === 'online').slice(0, LIVE_TILES_MAX).map((c) => str(c, 'id') ?? '') : [],
        );
        keepLive(live);
        return cameras.map((c) => {
          const id = str(c, 'id') ?? '';
          const state = cameraState(c);
          const img = h('img', { class: 'tile-img missing', alt: cameraName(c) });
          // A picture is not the scene now (offline, or online past the live tiles, whose stored picture is the last
          // event's): the tile says when it was taken, once that is known. A live tile shows the scene itself.
          const taken = pictures && !live.has(id) ? h('span', { class: 'muted small', 'data-test': 'tile-last-picture', hidden: true }) : null;
          if (pictures) {
            void loadSnapshot(img, id, signal).then((p) => {
              if (!taken) return;
              const text = lastPictureText(p);
              replace(taken, text);
              taken.hidden = !text;
            });
          }
          // The wall plays the sub-stream; the snapshot shows beneath until (or instead, when) video plays.
          const video = live.has(id) ? liveTile(id) : null;
          return h(
            'a',
            { class: `camera-tile cam-${state}`, href: `/cameras/${encodeURIComponent(id)}`, 'data-link': '', 'data-test': 'camera-tile', 'data-id': id },
            h('div', { class: 'tile-media' }, img, video),
            h(
              'div',
              { class: 'tile-body' },
              h('strong', {}, cameraName(c)),
              badge(codeLabel('cameraState', state), `cam-${state}`),
              // ONVIF may answer while RTSP does not: degraded, say so.
              str(obj(c, 'video'), 'state') === 'no video' ? badge(t('cameras.noVideo'), 'cam-offline') : null,
              pictures && state === 'online' && !live.has(id) ? h('span', { class: 'muted small', 'data-test': 'tile-snapshot-only' }, t('cameras.clickForLive')) : null,
              live.has(id) && gaveUp.has(id) ? h('span', { class: 'muted small', 'data-test': 'tile-video-gone' }, gaveUp.get(id)) : null,
              taken,
              h('div', { class: 'muted small' }, lastEventText(c) ?? t('cameras.noEvents')),
            ),
          );
        });
      },
    );
  void render();
  ctx.every(15_000, () => void render());
};
