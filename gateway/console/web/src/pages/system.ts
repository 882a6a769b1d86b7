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
    fill(devices, async () => {
      // Each kind of device comes from its own module; a module that is not there shows as not available.
      const rows: (string | HTMLElement)[][] = [];
      const missing: string[] = [];
      const stateBadge = (state: string): HTMLElement => badge(codeLabel('cameraState', state), `cam-${state}`);
      const collect = async (kind: string, load: () => Promise<void>): Promise<void> => {
        try {
          await load();
        } catch {
          missing.push(codeLabel('deviceKind', kind));
        }
      };
      await collect('reader', async () => {
        for (const r of asList(await getJson<unknown>('/readers'), 'readers')) {
          const state = str(r, 'state') ?? 'unknown';
          const where = [str(r, 'accessPoint'), str(r, 'direction') ? codeLabel('direction', str(r, 'direction') ?? '') : '', str(r, 'driver')];
          const lastTap = str(r, 'lastTapAt');
          rows.push([
            codeLabel('deviceKind', 'reader'),
            str(r, 'id') ?? '',
            where.filter(Boolean).join(' · '),
            badge(codeLabel('readerState', state), state === 'up' ? 'cam-online' : state === 'down' ? 'cam-offline' : ''),
            state === 'down' ? (str(r, 'detail') ?? '—') : lastTap ? fmtAgo(lastTap) : '—',
          ]);
        }
      });
      await collect('camera', async () => {
        for (const c of asList(await getJson<unknown>('/cameras'))) {
          const err = isObj(c.lastError) ? str(c.lastError, 'message') : undefined;
          rows.push([codeLabel('deviceKind', 'camera'), str(c, 'id') ?? '', str(c, 'name') ?? '', stateBadge(str(c, 'state') ?? 'unknown'), err ?? (str(c, 'lastPollAt') ? fmtAgo(str(c, 'lastPollAt') ?? '') : '—')]);
        }
      });
      await collect('sensor', async () => {
        for (const x of asList(await getJson<unknown>('/sensors'))) {
          const seen = str(x, 'lastSeenAt');
          rows.push([codeLabel('deviceKind', 'sensor'), str(x, 'id') ?? '', str(x, 'zone') ?? '', stateBadge(str(x, 'status') ?? 'unknown'), seen ? fmtAgo(seen) : '—']);
        }
      });
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
