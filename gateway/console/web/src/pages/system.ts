/** System: health per component, city sync status and backlog, devices and their state, version. */
import { getHealth, getJson } from '../api.js';
import { asList, bool, isObj, num, str, type Json } from '../data.js';
import { h, replace } from '../dom.js';
import { fmtAgo, fmtDateTime, t } from '../i18n/index.js';
import type { Page } from '../router.js';
import type { Health } from '../types.js';
import { badge, codeLabel, fill, pageHeader, panel, stat, table } from '../ui.js';

function uptime(s: number): string {
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  return t('system.uptimeValue', { d, h: hh, m: mm });
}

function okBadge(ok: boolean | undefined): HTMLElement {
  return ok === undefined ? badge('—', 'kind') : badge(ok ? t('system.ok') : t('system.fault'), ok ? 'ok' : 'bad');
}

export const systemPage: Page = ({ root, every }) => {
  const health = h('div', { 'data-test': 'health' });
  const sync = h('div', { 'data-test': 'sync' });
  const devices = h('div', { 'data-test': 'devices' });
  replace(root, pageHeader(t('system.title')), h('div', { class: 'two-col' }, panel(t('system.health'), health), panel(t('system.sync'), sync)), panel(t('system.devices'), devices));

  const loadHealth = (): Promise<boolean> =>
    fill(health, async () => {
      const hz = await getHealth<Health>();
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
          Object.entries(hz.components).map(([name, c]) => [name, okBadge(c.ok), c.detail ?? '']),
        ),
      ];
    });

  const loadSync = (): Promise<boolean> =>
    fill(sync, async () => {
      const s = await getJson<Json>('/sync');
      const backlog = s.backlog;
      const rows: [string, number][] = isObj(backlog)
        ? Object.entries(backlog).map(([k, v]) => [k, typeof v === 'number' ? v : (num(isObj(v) ? v : undefined, 'count', 'rows') ?? 0)])
        : asList(backlog).map((b) => [str(b, 'stream') ?? '', num(b, 'count', 'rows') ?? 0]);
      const lastOk = str(s, 'lastSuccessAt', 'lastSuccess');
      const dropped = s.dropped;
      return [
        h(
          'div',
          { class: 'stats' },
          stat(t('system.connected'), okBadge(bool(s, 'connected'))),
          stat(t('system.lastSuccess'), lastOk ? h('span', { title: fmtDateTime(lastOk) }, fmtAgo(lastOk)) : '—'),
          stat(t('system.transport'), str(s, 'transport', 'upstream') ?? '—'),
        ),
        str(s, 'lastError') ? h('p', { class: 'state error' }, str(s, 'lastError') ?? '') : null,
        h('h3', {}, t('system.backlog')),
        table([t('system.stream'), t('system.messages')], rows.map(([k, v]) => [k, v])),
        isObj(dropped) && Object.keys(dropped).length
          ? h('p', { class: 'muted small' }, `${t('system.dropped')}: ${Object.entries(dropped).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`)
          : null,
      ];
    });

  const loadDevices = (): Promise<boolean> =>
    fill(devices, async () => {
      // Each kind of device comes from its own module; a module that is not there shows as not available.
      const kinds: { path: string; kind: string; keys: string[] }[] = [
        { path: '/readers', kind: 'reader', keys: ['readers'] },
        { path: '/cameras', kind: 'camera', keys: ['cameras'] },
        { path: '/sensors', kind: 'sensor', keys: ['sensors'] },
      ];
      const rows: (string | HTMLElement)[][] = [];
      const missing: string[] = [];
      for (const k of kinds) {
        try {
          for (const d of asList(await getJson<unknown>(k.path), ...k.keys)) {
            const state = str(d, 'state', 'status') ?? (d.online === true ? 'online' : d.online === false ? 'offline' : 'unknown');
            const seen = str(d, 'lastSeenAt', 'lastSeen', 'lastReadingAt');
            rows.push([codeLabel('deviceKind', k.kind), str(d, 'id') ?? '', str(d, 'name', 'zone', 'accessPoint') ?? '', badge(codeLabel('cameraState', state), `cam-${state}`), seen ? fmtAgo(seen) : '—']);
          }
        } catch {
          missing.push(codeLabel('deviceKind', k.kind));
        }
      }
      return [
        table([t('system.deviceKind'), t('system.deviceId'), t('system.deviceName'), t('system.status'), t('system.lastSeen')], rows, { 'data-test': 'device-table' }),
        missing.length ? h('p', { class: 'muted small' }, `${t('common.notAvailable')}: ${missing.join(', ')}`) : null,
      ];
    });

  void loadHealth();
  void loadSync();
  void loadDevices();
  every(10_000, () => {
    void loadHealth();
    void loadSync();
  });
};
