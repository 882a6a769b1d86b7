/**
 * The campus map: an area's floor plan with its access points, cameras and sensors pinned where they are, in their
 * live state (an open alert pulses at its place, an offline device is greyed, a lockdown frames the whole map).
 * A pin opens its gate, camera or room. Admins create maps, upload the picture and place or drag pins (edit mode).
 */
import { ApiError, apiUrl, getBlob, getJson, send } from '../api.js';
import { loadSession } from '../session.js';
import { asList, str, type Json } from '../data.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n/index.js';
import { nameOf } from '../names.js';
import type { Page } from '../router.js';
import type { Alert } from '../types.js';
import { actionError, badge, empty, loading, pageHeader, toast } from '../ui.js';

type PinKind = 'access-point' | 'camera' | 'sensor';
interface Pin {
  kind: PinKind;
  deviceId: string;
  x: number;
  y: number;
}
interface CampusMap {
  id: number;
  name: string;
  zone: string | null;
  image: { type: string; bytes: number; version: number } | null;
  pins: Pin[];
}
interface Device {
  kind: PinKind;
  id: string;
  name: string;
  offline: boolean;
  /** The page a click opens. */
  href: string;
}

/** Whether an open alert is about this device: its access point, or its camera or sensor as the source. */
export function alertAt(a: Alert, kind: PinKind, id: string): boolean {
  if (kind === 'access-point') return a.accessPoint === id;
  return a.source === `${kind}:${id}`;
}

/**
 * The access points some of whose card readers are down or whose door controller does not answer: at such a gate
 * cards are not read (or not recorded) in at least one direction, which the guard on the map needs to see.
 */
export function accessPointsOffline(readers: Json[], controllers: Json[]): Set<string> {
  const out = new Set<string>();
  for (const r of readers) if (str(r, 'state') === 'down') out.add(str(r, 'accessPoint') ?? '');
  for (const c of controllers) {
    if (str(c, 'state') !== 'offline') continue;
    for (const door of asList(c.doors)) out.add(str(door, 'accessPoint') ?? '');
  }
  return out;
}

async function loadDevices(): Promise<Device[]> {
  // Readers and controllers come from their own modules: a gateway without one answers 404, and nothing is down.
  const [places, cameras, sensors, readers, controllers] = await Promise.all([
    getJson<unknown>('/access-points', { taps: 0 }).then((r) => asList(r, 'accessPoints'), () => [] as Json[]),
    getJson<unknown>('/cameras').then((r) => asList(r, 'cameras'), () => [] as Json[]),
    getJson<unknown>('/sensors').then((r) => asList(r, 'sensors'), () => [] as Json[]),
    getJson<unknown>('/readers').then((r) => asList(r, 'readers'), () => [] as Json[]),
    getJson<unknown>('/controllers').then((r) => asList(r, 'items'), () => [] as Json[]),
  ]);
  const down = accessPointsOffline(readers, controllers);
  const out: Device[] = [];
  for (const p of places) {
    const id = str(p, 'id') ?? '';
    out.push({ kind: 'access-point', id, name: nameOf(p), offline: down.has(id), href: '/gates' });
  }
  for (const c of cameras) {
    const id = str(c, 'id') ?? '';
    const state = str(c, 'state') ?? (c.online === false ? 'offline' : 'online');
    out.push({ kind: 'camera', id, name: nameOf(c), offline: state === 'offline', href: `/cameras/${encodeURIComponent(id)}` });
  }
  for (const s of sensors) {
    const id = str(s, 'id') ?? '';
    const zone = str(s, 'zone');
    const offline = s.online === false || str(s, 'state', 'status') === 'offline';
    out.push({ kind: 'sensor', id, name: nameOf(s), offline, href: zone ? `/environment?room=${encodeURIComponent(zone)}` : '/environment' });
  }
  return out;
}

/** The picture as the raw body (the API reads its type from its bytes; send() would wrap it in JSON). */
async function uploadImage(mapId: number, file: Blob): Promise<CampusMap> {
  const headers = new Headers({ accept: 'application/json', 'content-type': file.type || 'application/octet-stream' });
  const token = loadSession()?.token;
  if (token) headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(apiUrl(`/maps/${mapId}/image`), { method: 'PUT', headers, body: file });
  const j = (await res.json().catch(() => ({}))) as CampusMap & { error?: { code?: string; message?: string } };
  if (!res.ok) throw new ApiError(res.status, j.error?.code ?? 'http_error', j.error?.message ?? res.statusText);
  return j;
}

export const mapPage: Page = async (ctx) => {
  const { root, signal, session } = ctx;
  const admin = session.role === 'admin';
  const body = h('div', { 'data-test': 'map-page' }, loading());
  replace(root, pageHeader(t('map.title')), body);

  let maps: CampusMap[] = [];
  let devices: Device[] = [];
  let openAlerts: Alert[] = [];
  let current: CampusMap | undefined;
  let editing = false;
  let draft: Pin[] = [];
  let imageUrl: string | null = null;
  let imageOf = '';
  signal.addEventListener('abort', () => imageUrl && URL.revokeObjectURL(imageUrl), { once: true });

  const stage = h('div', { class: 'map-stage', 'data-test': 'map-stage' });
  const img = h('img', { class: 'map-image', alt: '' });

  const loadAlerts = async (): Promise<void> => {
    const page = await getJson<{ items: Alert[] }>('/alerts', { status: 'open', limit: 500 });
    openAlerts = page.items;
  };

  const loadImage = async (): Promise<void> => {
    if (!current?.image) return;
    const key = `${current.id}-${current.image.version}`;
    if (key === imageOf) return;
    const blob = await getBlob(`/maps/${current.id}/image`);
    if (signal.aborted) return;
    if (imageUrl) URL.revokeObjectURL(imageUrl);
    imageUrl = URL.createObjectURL(blob);
    imageOf = key;
    img.src = imageUrl;
  };

  const pinEl = (pin: Pin): HTMLElement => {
    const dev = devices.find((d) => d.kind === pin.kind && d.id === pin.deviceId);
    const alerting = openAlerts.some((a) => alertAt(a, pin.kind, pin.deviceId));
    const state = alerting ? 'alert' : dev?.offline ? 'offline' : 'ok';
    const label = dev?.name ?? pin.deviceId;
    const el = h(
      editing ? 'button' : 'a',
      {
        class: `map-pin pin-${pin.kind} pin-${state}${pin.x > 0.6 ? ' pin-left' : ''}`,
        'data-test': 'map-pin',
        'data-device': pin.deviceId,
        'data-kind': pin.kind,
        'data-state': state,
        title: `${label} · ${t(`map.kind.${pin.kind}`)} · ${t(`map.state.${state}`)}`,
        'aria-label': `${label}: ${t(`map.state.${state}`)}`,
        ...(editing ? { type: 'button' } : { href: dev?.href ?? '/alerts', 'data-link': '' }),
      },
      h('span', { class: 'pin-dot' }),
      h('span', { class: 'pin-label' }, label),
    );
    el.style.left = `${pin.x * 100}%`;
    el.style.top = `${pin.y * 100}%`;
    if (editing) dragPin(el, pin);
    return el;
  };

  /** Edit mode: a pin follows the pointer and keeps its new place (as fractions of the picture). */
  const dragPin = (el: HTMLElement, pin: Pin): void => {
    el.addEventListener('click', (e) => e.stopPropagation()); // not a click on the map: nothing new is placed
    el.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      e.stopPropagation();
      el.setPointerCapture(e.pointerId);
      const move = (ev: PointerEvent): void => {
        const r = stage.getBoundingClientRect();
        pin.x = Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width));
        pin.y = Math.min(1, Math.max(0, (ev.clientY - r.top) / r.height));
        el.style.left = `${pin.x * 100}%`;
        el.style.top = `${pin.y * 100}%`;
        el.classList.toggle('pin-left', pin.x > 0.6);
      };
      el.addEventListener('pointermove', move);
      el.addEventListener('pointerup', () => el.removeEventListener('pointermove', move), { once: true });
    });
  };

  const drawStage = (): void => {
    const pins = editing ? draft : (current?.pins ?? []);
    replace(stage, img, ...pins.map(pinEl));
    stage.classList.toggle('map-lockdown', ctx.lockdown.state?.active === true);
    stage.classList.toggle('map-editing', editing);
  };

  const editor = (): HTMLElement => {
    const unplaced = devices.filter((d) => !draft.some((p) => p.kind === d.kind && p.deviceId === d.id));
    const pick = h(
      'select',
      { 'data-test': 'map-device', 'aria-label': t('map.device') },
      ...unplaced.map((d) => h('option', { value: `${d.kind}|${d.id}` }, `${t(`map.kind.${d.kind}`)} · ${d.name}`)),
    );
    const hint = h('p', { class: 'muted small' }, t('map.placeHint'));
    stage.onclick = (e: MouseEvent): void => {
      if (!editing || !pick.value) return;
      const r = stage.getBoundingClientRect();
      const [kind, id] = pick.value.split('|') as [PinKind, string];
      draft.push({ kind, deviceId: id, x: Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), y: Math.min(1, Math.max(0, (e.clientY - r.top) / r.height)) });
      render();
    };
    const save = h('button', {
      class: 'btn primary', 'data-test': 'map-save',
      onclick: async () => {
        try {
          current = await send<CampusMap>('PUT', `/maps/${current!.id}/pins`, { pins: draft });
          maps = maps.map((m) => (m.id === current!.id ? current! : m));
          editing = false;
          toast(t('map.saved'));
          render();
        } catch (err) {
          actionError(err);
        }
      },
    }, t('map.save'));
    const cancel = h('button', { class: 'btn', onclick: () => ((editing = false), render()) }, t('common.cancel'));
    const clearAll = h('button', { class: 'btn', onclick: () => ((draft = []), render()) }, t('map.removeAll'));
    return h('div', { class: 'map-editor' }, pick, hint, h('div', { class: 'row' }, save, cancel, clearAll));
  };

  const adminBar = (): HTMLElement | null => {
    if (!admin) return null;
    const name = h('input', { type: 'text', maxlength: 100, 'data-test': 'map-name', placeholder: t('map.namePlaceholder'), 'aria-label': t('map.name') });
    const create = h('button', {
      class: 'btn', 'data-test': 'map-create',
      onclick: async () => {
        if (!name.value.trim()) return;
        try {
          current = await send<CampusMap>('POST', '/maps', { name: name.value.trim() });
          maps.push(current);
          render();
        } catch (err) {
          actionError(err);
        }
      },
    }, t('map.create'));
    const file = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/webp', 'data-test': 'map-file', 'aria-label': t('map.upload') });
    file.addEventListener('change', async () => {
      const f = file.files?.[0];
      if (!f || !current) return;
      try {
        current = await uploadImage(current.id, f);
        maps = maps.map((m) => (m.id === current!.id ? current! : m));
        await loadImage();
        render();
      } catch (err) {
        actionError(err);
      }
    });
    const edit = current
      ? h('button', {
          class: 'btn', 'data-test': 'map-edit', disabled: !current.image,
          onclick: () => {
            editing = true;
            draft = current!.pins.map((p) => ({ ...p }));
            render();
          },
        }, t('map.edit'))
      : null;
    const remove = current
      ? h('button', {
          class: 'btn danger',
          onclick: async () => {
            if (!confirm(t('map.confirmDelete', { name: current!.name }))) return;
            try {
              await send('DELETE', `/maps/${current!.id}`);
              maps = maps.filter((m) => m.id !== current!.id);
              current = maps[0];
              render();
            } catch (err) {
              actionError(err);
            }
          },
        }, t('map.delete'))
      : null;
    return h('div', { class: 'map-admin row' }, name, create, current ? h('label', { class: 'btn' }, t('map.upload'), file) : null, edit, remove);
  };

  function render(): void {
    const tabs = maps.length > 1
      ? h('div', { class: 'row', role: 'tablist' }, ...maps.map((m) => h('button', {
          class: `btn small${m.id === current?.id ? ' primary' : ''}`, role: 'tab', 'aria-selected': String(m.id === current?.id),
          onclick: () => {
            current = m;
            editing = false;
            void loadImage().then(render, () => undefined);
            render();
          },
        }, m.name)))
      : null;
    const alerting = current ? current.pins.filter((p) => openAlerts.some((a) => alertAt(a, p.kind, p.deviceId))).length : 0;
    const offline = current ? current.pins.filter((p) => devices.find((d) => d.kind === p.kind && d.id === p.deviceId)?.offline).length : 0;
    const summary = current
      ? h('div', { class: 'row' },
          ctx.lockdown.state?.active ? badge(t('map.lockdown'), 'sev-critical') : null,
          alerting ? badge(t('map.alerting', { n: alerting }), 'sev-critical') : null,
          offline ? badge(t('map.offline', { n: offline }), 'cam-offline') : null)
      : null;
    drawStage();
    const main = !current
      ? empty(admin ? t('map.noneAdmin') : t('map.none'))
      : !current.image
        ? empty(admin ? t('map.noImageAdmin') : t('map.noImage'))
        : stage;
    replace(body, adminBar(), tabs, current ? h('h2', { 'data-test': 'map-title' }, current.name) : null, summary, editing ? editor() : null, main);
  }

  try {
    const [list, devs] = await Promise.all([getJson<{ items: CampusMap[] }>('/maps'), loadDevices(), loadAlerts()]);
    maps = list.items;
    devices = devs;
    current = maps[0];
    await loadImage();
  } catch (err) {
    actionError(err);
  }
  if (signal.aborted) return;
  render();

  // Live: alerts from the shell's stream, the lockdown from its watch, devices' states every 15 s and at once when
  // an alert says a device went offline or is back (a door controller, a camera, a sensor).
  const refreshAlerts = (): void => void loadAlerts().then(() => !editing && !signal.aborted && render(), () => undefined);
  const refreshDevices = (): void => void loadDevices().then((d) => ((devices = d), !editing && !signal.aborted && render()), () => undefined);
  ctx.feed.on((_kind, a) => {
    refreshAlerts();
    if (a.type.endsWith('_offline')) refreshDevices();
  }, signal);
  ctx.feed.onStatus((_s, reconnected) => reconnected && refreshAlerts(), signal);
  ctx.feed.onLockdown(() => void ctx.lockdown.refresh().then(() => !editing && render()), signal);
  ctx.every(15_000, refreshDevices);
};

