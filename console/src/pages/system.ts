/** System: health per component, city sync status and backlog, devices and their state, version. */
import { learnPlaceNames, nameOf, placeName, readerName, zoneName } from '../names.js';
import { getHealth, getJson, isConnectionError } from '../api.js';
import { asList, bool, isObj, num, obj, str, type Json } from '../data.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n/index.js';
import { fmtAgo, fmtDateTime } from '../time.js';
import type { Page } from '../router.js';
import type { HealthReport } from '../types.js';
import { cameraErrorText, healthDetail } from '../server-text.js';
import { badge, codeLabel, fillFrom, pageHeader, panel, stat, table, StaleNotice } from '../ui.js';

function uptime(s: number): string {
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  return t('system.uptimeValue', { d, h: hh, m: mm });
}

/** A device by its name in the console's language, its id under it (for whoever configures or reports a fault). */
function deviceName(name: string | undefined, id: string): HTMLElement {
  if (!name || name === id) return h('div', { 'data-test': 'device-name' }, id);
  return h('div', { 'data-test': 'device-name' }, h('span', {}, name), h('div', { class: 'muted small', 'data-test': 'details' }, id));
}

/** Where a camera looks: its access points and zones by their names, each name once (a gate and its zone share one). */
function coverage(c: Json): string {
  const ids = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return [...new Set([...ids(c.accessPoints).map((x) => placeName(x) ?? x), ...ids(c.zones).map((x) => zoneName(x) ?? x)])].join(', ');
}

/** A door controller's doors by their access points' names, each once (both sides of one door share it). */
function doorPlaces(c: Json): string {
  const doors = Array.isArray(c.doors) ? c.doors.filter(isObj) : [];
  return [...new Set(doors.map((d) => str(d, 'accessPoint') ?? '').filter(Boolean).map((ap) => placeName(ap) ?? ap))].join(', ');
}

/** Whether a controller holds the card list it should: what IT checks after an import, a leaver or a lockdown. */
function cardSync(c: Json): HTMLElement {
  const s = obj(c, 'sync');
  const n = (k: string): number => num(s, k) ?? 0;
  const error = str(s, 'lastError');
  const leftOut = num(obj(s, 'leftOut'), 'count') ?? 0;
  const lines = [
    t('system.cardsInSync', { inSync: n('inSync'), planned: n('planned') }),
    n('pending') > 0 ? t('system.cardsPending', { n: n('pending') }) : '',
    leftOut > 0 ? t('system.cardsLeftOut', { n: leftOut }) : '',
    error ? t('system.cardSyncFailed', { error }) : '',
  ].filter(Boolean);
  return h('div', { class: 'muted small', 'data-test': 'controller-sync' }, lines.join(' · '));
}

/** A controller's health in the cameras' words: starting is connecting, stopped is offline. */
const controllerState = (state: string | undefined): string => (state === 'starting' ? 'connecting' : state === 'stopped' ? 'offline' : (state ?? 'unknown'));

function okBadge(ok: boolean | undefined): HTMLElement {
  return ok === undefined ? badge('—', 'kind') : badge(ok ? t('system.ok') : t('system.fault'), ok ? 'ok' : 'bad');
}

export const systemPage: Page = ({ root, every }) => {
  const health = h('div', { 'data-test': 'health' });
  const sync = h('div', { 'data-test': 'sync' });
  const devices = h('div', { 'data-test': 'devices' });
  const notice = new StaleNotice();
  replace(root, pageHeader(t('system.title')), notice.el, h('div', { class: 'two-col' }, panel(t('system.health'), health), panel(t('system.sync'), sync)), panel(t('system.devices'), devices));

  // While the gateway does not answer, each panel stays as it was under the page's notice.
  const loadHealth = (): Promise<boolean> =>
    fillFrom(health, notice, '/healthz', () => getHealth<HealthReport>(), (hz) => {
      return [
        h(
          'div',
          { class: 'stats' },
          stat(t('system.status'), badge(hz.status === 'ok' ? t('system.ok') : t('system.degraded'), hz.status === 'ok' ? 'ok' : 'bad')),
          stat(t('system.version'), h('span', { 'data-test': 'version' }, hz.version)),
          stat(t('system.schema'), hz.schemaVersion),
          stat(t('system.uptime'), uptime(hz.uptimeS)),
        ),
        table(
          [t('system.component'), t('system.status'), t('system.detail')],
          Object.entries(hz.components).map(([name, c]) => [codeLabel('component', name), c.status === 'disabled' ? badge(t('system.disabled'), 'kind') : okBadge(c.ok), healthDetail(c)]),
        ),
      ];
    });

  const loadSync = (): Promise<boolean> =>
    fillFrom(sync, notice, '/sync', () => getJson<Json>('/sync'), (s) => {
      // backlog: rows waiting per stream; dropped: per reason (expired, overflow), then per stream.
      const backlog = isObj(s.backlog) ? s.backlog : {};
      const dropped = isObj(s.dropped) ? s.dropped : {};
      const droppedOf = (stream: string): number =>
        Object.values(dropped).reduce<number>((n, per) => n + (isObj(per) ? (num(per, stream) ?? 0) : 0), 0);
      const lastOk = str(s, 'lastSuccessAt');
      const lastError = isObj(s.lastError) ? s.lastError : undefined;
      const enabled = bool(s, 'enabled');
      return [
        h(
          'div',
          { class: 'stats' },
          stat(t('system.connected'), okBadge(bool(s, 'connected'))),
          stat(t('system.lastSuccess'), lastOk ? h('span', { title: fmtDateTime(lastOk) }, fmtAgo(lastOk)) : '—'),
          stat(t('system.transport'), enabled === false ? t('system.syncOff') : (str(s, 'upstream') ?? str(s, 'transport') ?? '—')),
          stat(t('system.backlog'), h('span', { 'data-test': 'backlog' }, num(s, 'backlogTotal') ?? Object.values(backlog).reduce<number>((n, v) => n + (typeof v === 'number' ? v : 0), 0))),
        ),
        lastError
          ? h('p', { class: 'state error' }, `${t('system.lastError')}: ${str(lastError, 'message') ?? ''}`, str(lastError, 'at') ? ` (${fmtAgo(str(lastError, 'at') ?? '')})` : '')
          : null,
        table(
          [t('system.stream'), t('system.messages'), t('system.dropped')],
          Object.entries(backlog).map(([stream, n]) => [stream, typeof n === 'number' ? n : 0, droppedOf(stream)]),
        ),
      ];
    });

  const loadDevices = (): Promise<boolean> =>
    fillFrom(
      devices,
      notice,
      'devices',
      async () => {
        // Each kind of device comes from its own module; a module that is not there shows as not available.
        const missing: string[] = [];
        const collect = async (kind: string, path: string, key?: string): Promise<Json[]> => {
          try {
            return key ? asList(await getJson<unknown>(path), key) : asList(await getJson<unknown>(path));
          } catch (err) {
            // The gateway not answering is not a module missing.
            if (isConnectionError(err)) throw err;
            missing.push(kind);
            return [];
          }
        };
        // Readers' names come with the access points'.
        await learnPlaceNames();
        const readers = await collect('reader', '/readers', 'readers');
        const cameras = await collect('camera', '/cameras');
        const sensors = await collect('sensor', '/sensors');
        // Door controllers are there only when the school has some (controllers.devices).
        const controllers = await collect('controller', '/controllers', 'items');
        return { readers, cameras, sensors, controllers, missing: missing.filter((k) => k !== 'controller') };
      },
      ({ readers, cameras, sensors, controllers, missing }) => {
        const rows: (string | HTMLElement)[][] = [];
        const stateBadge = (state: string): HTMLElement => badge(codeLabel('cameraState', state), `cam-${state}`);
        for (const r of readers) {
          const state = str(r, 'state') ?? 'unknown';
          const id = str(r, 'id') ?? '';
          const ap = str(r, 'accessPoint');
          const where = [ap ? (placeName(ap) ?? ap) : '', str(r, 'direction') ? codeLabel('direction', str(r, 'direction') ?? '') : '', str(r, 'driver')];
          const lastTap = str(r, 'lastTapAt');
          rows.push([
            codeLabel('deviceKind', 'reader'),
            deviceName(readerName(id), id),
            where.filter(Boolean).join(' · '),
            badge(codeLabel('readerState', state), state === 'up' ? 'cam-online' : state === 'down' ? 'cam-offline' : ''),
            state === 'down' ? (str(r, 'detail') ?? '—') : lastTap ? fmtAgo(lastTap) : '—',
          ]);
        }
        for (const c of cameras) {
          const err = isObj(c.lastError) ? cameraErrorText(str(c.lastError, 'code'), str(c.lastError, 'message')) : undefined;
          rows.push([codeLabel('deviceKind', 'camera'), deviceName(nameOf(c), str(c, 'id') ?? ''), coverage(c), stateBadge(str(c, 'state') ?? 'unknown'), err ?? (str(c, 'lastPollAt') ? fmtAgo(str(c, 'lastPollAt') ?? '') : '—')]);
        }
        for (const x of sensors) {
          const seen = str(x, 'lastSeenAt');
          const zone = str(x, 'zone') ?? '';
          const room = zoneName(zone) ?? zone;
          rows.push([codeLabel('deviceKind', 'sensor'), deviceName(x.name ? nameOf(x) : room, str(x, 'id') ?? ''), room, stateBadge(str(x, 'status') ?? 'unknown'), seen ? fmtAgo(seen) : '—']);
        }
        for (const c of controllers) {
          const state = controllerState(str(c, 'state'));
          const seen = str(c, 'lastSeen');
          rows.push([
            codeLabel('deviceKind', 'controller'),
            deviceName(undefined, str(c, 'id') ?? ''),
            doorPlaces(c),
            h('div', {}, stateBadge(state), cardSync(c)),
            // When it last answered; why it does not now is the gateway's English, for IT on hover.
            h('span', { title: str(c, 'detail') ?? '' }, seen ? fmtAgo(seen) : '—'),
          ]);
        }
        return [
          table([t('system.deviceKind'), t('system.deviceName'), t('system.devicePlace'), t('system.status'), t('system.lastSeen')], rows, { 'data-test': 'device-table' }),
          missing.length ? h('p', { class: 'muted small' }, `${t('common.notAvailable')}: ${missing.map((k) => codeLabel('deviceKind', k)).join(', ')}`) : null,
        ];
      },
    );

  void loadHealth();
  void loadSync();
  void loadDevices();
  every(10_000, () => {
    void loadHealth();
    void loadSync();
    void loadDevices();
  });
};
