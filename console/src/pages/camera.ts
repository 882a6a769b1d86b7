/** One camera: its stream URIs, a fresh snapshot, recent events and PTZ preset buttons (security, admin). */
import { learnPlaceNames, placeName, zoneName } from '../names.js';
import { getJson, send } from '../api.js';
import { followEvents, type Follow } from '../follow.js';
import { asList, bool, isObj, obj, str, type Json } from '../data.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n/index.js';
import { fmtDateTime } from '../time.js';
import type { AlertPage } from '../types.js';
import type { Page } from '../router.js';
import { can } from '../session.js';
import { actionError, badge, codeLabel, fillFrom, pageHeader, panel, StaleNotice, table, toast } from '../ui.js';
import { learnNames } from '../names.js';
import { alertMessage, cameraErrorText } from '../server-text.js';
import { cameraName, cameraState, lastPictureText, loadSnapshot } from './cameras.js';
import { livePlayer } from '../video.js';

function streamUris(c: Json): string[] {
  const out: string[] = [];
  const direct = str(c, 'streamUri', 'rtspUri');
  if (direct) out.push(direct);
  for (const p of asList(c.streams ?? c.profiles)) {
    const u = str(p, 'rtspUri', 'streamUri', 'uri');
    if (u && !out.includes(u)) out.push(u);
  }
  if (Array.isArray(c.streamUris)) for (const u of c.streamUris) if (typeof u === 'string' && !out.includes(u)) out.push(u);
  return out;
}

/** ` (H.265)`: the codec as staff know it, beside the live state. */
function codecLabel(codec: string | undefined): string {
  if (!codec) return '';
  const known: Record<string, string> = { h264: 'H.264', h265: 'H.265' };
  return ` (${known[codec] ?? codec})`;
}

function presetNames(c: Json): string[] {
  const p = c.presets ?? c.ptzPresets;
  if (Array.isArray(p)) return p.map((x) => (typeof x === 'string' ? x : isObj(x) ? (str(x, 'name', 'token') ?? '') : '')).filter(Boolean);
  if (isObj(p)) return Object.keys(p);
  return [];
}

export const cameraPage: Page = (ctx) => {
  const { root, params, session, signal } = ctx;
  const id = params.id ?? '';
  const notice = new StaleNotice();
  const info = h('div', {});
  const events = h('div', { 'data-test': 'camera-events' });
  const img = h('img', { class: 'camera-big missing', alt: id, 'data-test': 'camera-snapshot' });
  // When the picture was taken: a camera that stopped answering still shows its last one, which is not the scene now.
  const taken = h('p', { class: 'muted small', 'data-test': 'camera-last-picture' });
  const showSnapshot = (fresh = false): void => {
    void loadSnapshot(img, id, signal, fresh).then((p) => {
      if (p !== 'unknown') taken.textContent = lastPictureText(p); // not answering says nothing new: the line stays
    });
  };
  const refresh = h('button', { class: 'btn', 'data-test': 'snapshot-fresh', onclick: () => showSnapshot(true) }, t('cameras.freshSnapshot'));
  // Live video of the main stream (staff only); the snapshot below stays as the fallback.
  const liveNote = h('p', { class: 'muted small', 'data-test': 'live-note' });
  const liveBox = h('div', { class: 'live-box' });
  if (can.snapshots(session.role)) {
    const player = livePlayer(id, 'main', signal, (why) => {
      if (why !== 'no_video') player.video.remove();
      liveNote.textContent = why === 'codec' ? t('cameras.liveCodec') : t('cameras.liveNoVideo');
    });
    player.video.addEventListener('playing', () => (liveNote.textContent = ''));
    liveBox.append(player.video);
  }
  replace(
    root,
    pageHeader(id, h('a', { href: '/cameras', 'data-link': '', class: 'btn' }, t('cameras.back'))),
    notice.el,
    can.snapshots(session.role) ? panel(t('cameras.live'), liveBox, liveNote) : null,
    h('div', { class: 'two-col' }, can.snapshots(session.role) ? panel(t('cameras.snapshot'), img, taken, h('div', { class: 'actions' }, refresh)) : null, panel(t('cameras.details'), info)),
    panel(t('cameras.recentEvents'), events),
  );
  if (can.snapshots(session.role)) showSnapshot();

  // While the gateway does not answer, what was shown stays under the page's notice; every 15 s it is read again.
  const path = `/cameras/${encodeURIComponent(id)}`;
  const loadInfo = (): Promise<boolean> => fillFrom(info, notice, path, () => Promise.all([getJson<Json>(path), learnPlaceNames()]).then(([c]) => c), (c) => {
    const header = root.querySelector('h1');
    if (header) header.textContent = cameraName(c);
    const state = cameraState(c);
    const lastError = obj(c, 'lastError') ? cameraErrorText(str(obj(c, 'lastError'), 'code'), str(obj(c, 'lastError'), 'message')) : undefined;
    const uris = streamUris(c);
    const presets = presetNames(c);
    const ptz = bool(c, 'ptz') ?? presets.length > 0;
    const gotoPreset = async (name: string): Promise<void> => {
      try {
        await send('POST', `/cameras/${encodeURIComponent(id)}/ptz/${encodeURIComponent(name)}`);
        toast(t('cameras.presetMoved', { name }));
      } catch (err) {
        actionError(err);
      }
    };
    const covers = [...(Array.isArray(c.accessPoints) ? c.accessPoints : []), ...(Array.isArray(c.zones) ? c.zones : [])].filter((x): x is string => typeof x === 'string');
    return [
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, t('cameras.state')),
        h('dd', {}, badge(codeLabel('cameraState', state), `cam-${state}`), lastError ? h('span', { class: 'muted small' }, ` ${lastError}`) : null),
        h('dt', {}, t('cameras.live')),
        h('dd', { 'data-test': 'video-state' }, str(obj(c, 'video'), 'state') ?? '—', codecLabel(str(obj(c, 'video'), 'codec')), str(obj(c, 'video'), 'error') ? h('span', { class: 'muted small' }, ` ${str(obj(c, 'video'), 'error')}`) : null),
        h('dt', {}, t('cameras.covers')),
        // What it covers by name; the ids are in the configuration.
        h('dd', { 'data-test': 'covers' }, [...new Set(covers.map((x) => placeName(x) ?? zoneName(x) ?? x))].join(', ') || '—'),
        h('dt', {}, t('cameras.model')),
        h('dd', {}, [str(obj(c, 'device'), 'manufacturer'), str(obj(c, 'device'), 'model')].filter(Boolean).join(' ') || '—'),
        h('dt', {}, t('cameras.stream')),
        h('dd', {}, uris.length ? h('ul', { class: 'plain' }, ...uris.map((u) => h('li', {}, h('code', { 'data-test': 'stream-uri' }, u)))) : t('cameras.noStream')),
      ),
      h('h3', {}, t('cameras.presets')),
      presets.length && ptz && can.ptz(session.role)
        ? h('div', { class: 'preset-buttons' }, ...presets.map((p) => h('button', { class: 'btn', 'data-test': 'preset', onclick: () => void gotoPreset(p) }, p)))
        : h('p', { class: 'muted' }, presets.length ? presets.join(', ') : t('cameras.noPresets')),
    ];
  });
  void loadInfo();

  // The gateway keeps no event log per camera: the page shows the last event, what arrives while it is open,
  // and the alerts this camera raised or gave evidence for.
  const live: Json[] = [];
  let last: Json | undefined;
  let related: Json[] = [];
  const eventsTable = (): HTMLElement => {
    const rows = [...live, ...(last && !live.length ? [last] : []), ...related].sort((a, b) => ((str(b, 'at') ?? '') < (str(a, 'at') ?? '') ? -1 : 1)).slice(0, 20);
    return table(
      [t('common.time'), t('cameras.event'), t('cameras.detail')],
      rows.map((e) => [fmtDateTime(str(e, 'at') ?? ''), str(e, 'label') ?? codeLabel('cameraEvent', str(e, 'kind') ?? ''), str(e, 'detail') ?? '']),
    );
  };
  const loadEvents = (): Promise<boolean> =>
    fillFrom(
      events,
      notice,
      `${path}#events`,
      async () => {
        const c = await getJson<Json>(path);
        const covers = new Set([...(Array.isArray(c.accessPoints) ? c.accessPoints : []), ...(Array.isArray(c.zones) ? c.zones : [])]);
        const page = await getJson<AlertPage>('/alerts', { limit: 200 });
        const mine = page.items.filter((a) => a.source === `camera:${id}` || a.snapshotIds.length > 0 && ((a.accessPoint && covers.has(a.accessPoint)) || (a.zone && covers.has(a.zone))));
        await learnNames(mine);
        return { last: obj(c, 'lastEvent'), related: mine.map((a): Json => ({ at: a.raisedAt, label: codeLabel('alertType', a.type), detail: alertMessage(a) })) };
      },
      (v) => {
        last = v.last;
        related = v.related;
        return eventsTable();
      },
    );
  void loadEvents();
  ctx.every(15_000, () => {
    void loadInfo();
    void loadEvents();
    if (can.snapshots(session.role) && img.classList.contains('missing')) showSnapshot();
  });
  const on: Follow['on'] = {
    'camera.event': (e) => {
      if (e.cameraId !== id) return;
      live.unshift({ ...e, detail: (Array.isArray(e.zones) ? e.zones : []).map((z) => (typeof z === 'string' ? (zoneName(z) ?? z) : '')).join(', ') });
      replace(events, eventsTable());
    },
  };
  if (can.snapshots(session.role)) on['camera.state'] = () => showSnapshot();
  followEvents(['camera.'], signal, { on });
};
