/**
 * The timeline (issue 25, point 8): taps, alerts, camera events, lockdown changes and remote door opens in one time
 * order, newest first, narrowed to a camera, a gate or a person (kept in the URL, so other pages can link here). New
 * events arrive live at the top; older ones page back from the gateway's history (GET /timeline, keyset cursor) with
 * the "older" button, which also loads by itself when scrolled into view.
 */
import { apiUrl, getJson } from '../api.js';
import { asList, bool, num, obj, str, type Json } from '../data.js';
import { h, replace } from '../dom.js';
import { followEvents } from '../follow.js';
import { t } from '../i18n/index.js';
import { learnNames, learnPlaceNames, nameOf, placeName } from '../names.js';
import { personSearch } from '../person-search.js';
import type { Page } from '../router.js';
import { alertMessage } from '../server-text.js';
import { can, loadSession } from '../session.js';
import { fmtDateTime } from '../time.js';
import type { Alert } from '../types.js';
import { badge, codeLabel, empty, errorState, pageHeader, panel } from '../ui.js';

const PAGE = 50;

interface Filter {
  camera: string;
  accessPoint: string;
  person: string;
}

export const timelinePage: Page = ({ root, query, session, signal, navigate }) => {
  const f: Filter = { camera: query.get('camera') ?? '', accessPoint: query.get('accessPoint') ?? '', person: query.get('person') ?? '' };
  const go = (next: Partial<Filter>): void => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...f, ...next })) if (v) q.set(k, v);
    const qs = q.toString();
    navigate(`/timeline${qs ? `?${qs}` : ''}`);
  };

  const cameras = new Map<string, Json>();
  const cameraSelect = h('select', { 'data-test': 'timeline-camera', 'aria-label': t('timeline.camera'), onchange: (e: Event) => go({ camera: (e.target as HTMLSelectElement).value }) });
  const gateSelect = h('select', { 'data-test': 'timeline-gate', 'aria-label': t('timeline.gate'), onchange: (e: Event) => go({ accessPoint: (e.target as HTMLSelectElement).value }) });
  const options = (select: HTMLSelectElement, all: string, items: Json[], chosen: string): void => {
    replace(select, h('option', { value: '' }, all), ...items.map((x) => h('option', { value: str(x, 'id') ?? '', selected: str(x, 'id') === chosen }, nameOf(x))));
  };
  options(cameraSelect, t('timeline.anyCamera'), [], f.camera);
  options(gateSelect, t('timeline.anyGate'), [], f.accessPoint);
  const finder = personSearch({ value: f.person, test: 'timeline-person', onPick: (p) => go({ person: p.externalId }) });
  const clearPerson = f.person
    ? h('button', { class: 'btn small', 'data-test': 'timeline-person-clear', onclick: () => go({ person: '' }) }, t('timeline.clearPerson', { person: f.person }))
    : null;

  const list = h('ol', { class: 'timeline', 'data-test': 'timeline' });
  const older = h('button', { class: 'btn', 'data-test': 'timeline-older', onclick: () => void loadOlder() }, t('timeline.older'));
  const status = h('p', { class: 'muted small', 'data-test': 'timeline-status' });
  replace(
    root,
    pageHeader(t('timeline.title')),
    panel(t('timeline.filters'), h('div', { class: 'filters' }, cameraSelect, gateSelect, finder, clearPerson)),
    can.snapshots(session.role) ? null : h('p', { class: 'muted small', 'data-test': 'timeline-pictures-hidden' }, t('timeline.picturesHidden')),
    list,
    h('div', { class: 'actions' }, older, status),
  );

  const seen = new Set<string>();
  // The stream leaves a card's UID out of an alert's data for a viewer, but not out of the gateway's English message
  // ("Lost card 0BADCAFE of …"), which the text falls back to: a viewer's live alert reads as its type. Stored alerts
  // come from /timeline with the number masked and are shown in full.
  const fullView = can.snapshots(session.role);
  const token = loadSession()?.token ?? '';
  const cameraLink = (id: string): HTMLElement =>
    h('a', { href: `/cameras/${encodeURIComponent(id)}`, 'data-link': '' }, cameras.get(id) ? nameOf(cameras.get(id)!) : id);
  const place = (id: string | null | undefined): string => (id ? (placeName(id) ?? id) : '');

  const render = (item: Json): HTMLElement | null => {
    const kind = str(item, 'kind') ?? '';
    const key = `${kind}~${str(item, 'id') ?? ''}`;
    if (seen.has(key)) return null;
    seen.add(key);
    const at = num(item, 'at') ?? str(item, 'at') ?? '';
    const when = h('time', { datetime: typeof at === 'number' ? new Date(at).toISOString() : at }, at !== '' ? fmtDateTime(at) : '');
    const li = (...children: (HTMLElement | string | null)[]): HTMLElement =>
      h('li', { class: `tl-item tl-${kind}`, 'data-test': 'timeline-item', 'data-kind': kind, 'data-id': str(item, 'id') ?? '' }, when, badge(t(`timeline.kind.${kind}` as 'timeline.kind.tap'), 'kind'), ...children);
    if (kind === 'tap') {
      const granted = bool(item, 'granted') ?? false;
      const person = obj(item, 'person');
      return li(
        badge(granted ? t('gates.granted') : t('gates.denied'), granted ? 'ok' : 'bad'),
        h('span', { class: 'who' }, person ? [str(person, 'name'), str(person, 'class')].filter(Boolean).join(' · ') : t('timeline.unknownCard')),
        h('span', {}, place(str(item, 'accessPoint', 'accessPointId'))),
        granted ? null : h('span', { class: 'muted small' }, codeLabel('reason', str(item, 'reason') ?? '')),
      );
    }
    if (kind === 'alert') {
      const a = obj(item, 'alert') as unknown as Alert;
      const shots = can.snapshots(session.role) ? (a.snapshotIds ?? []).slice(-1) : [];
      return li(
        badge(t(`severity.${a.severity}`), `sev-${a.severity}`),
        h('span', {}, bool(item, 'live') && !fullView ? codeLabel('alertType', a.type) : alertMessage({ ...a, data: a.data ?? {} })),
        ...shots.map((id) =>
          h('img', { class: 'snapshot thumb', loading: 'lazy', alt: t('alerts.snapshot'), 'data-test': 'timeline-thumb', src: apiUrl(`/snapshots/${encodeURIComponent(id)}`, { access_token: token }) }),
        ),
      );
    }
    if (kind === 'camera') {
      return li(h('span', {}, codeLabel('cameraEvent', str(item, 'event', 'kind') ?? 'other')), cameraLink(str(item, 'cameraId') ?? ''));
    }
    if (kind === 'door') {
      return li(
        h('span', {}, place(str(item, 'accessPoint'))),
        h('span', { class: 'muted small' }, t('timeline.doorOpenedBy', { by: str(item, 'by') ?? '' })),
        str(item, 'reason') ?? null, // not a viewer's (the gateway leaves it out)
      );
    }
    if (kind === 'lockdown') {
      const active = bool(item, 'active') ?? false;
      return li(badge(active ? t('timeline.lockdownStarted') : t('timeline.lockdownEnded'), active ? 'bad' : 'ok'), h('span', { class: 'muted small' }, str(item, 'by') ?? ''), str(item, 'reason') ?? null);
    }
    return null;
  };

  let before: string | null = null;
  let busy = false;
  let ended = false;
  const loadOlder = async (): Promise<void> => {
    if (busy || ended) return;
    busy = true;
    older.disabled = true;
    try {
      const page = await getJson<{ items: unknown[]; nextBefore: string | null }>('/timeline', { limit: PAGE, before, ...f });
      const items = asList(page.items);
      if (items.some((i) => str(i, 'kind') === 'alert')) await learnNames(items.flatMap((i) => (str(i, 'kind') === 'alert' ? [obj(i, 'alert') as unknown as Alert] : [])));
      for (const item of items) {
        const el = render(item);
        if (el) list.append(el);
      }
      before = page.nextBefore;
      ended = before === null;
      if (ended) replace(status, list.children.length ? t('timeline.end') : '');
      if (ended && list.children.length === 0) list.append(h('li', {}, empty(t('timeline.empty'))));
      older.hidden = ended;
    } catch (err) {
      replace(status, errorState(err));
    } finally {
      busy = false;
      older.disabled = false;
    }
  };
  // Scrolling to the bottom pages back on its own; the button stays for keyboards and for screens that do not scroll.
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) void loadOlder();
  });
  signal.addEventListener('abort', () => observer.disconnect());

  // Live at the top: what the stream brings that this view would show.
  const coverage = (): string[] => (cameras.get(f.camera)?.accessPoints as string[] | undefined) ?? [];
  const matches = (kind: string, e: Json): boolean => {
    if (kind === 'lockdown') return true;
    if (kind === 'door') return !f.person && (!f.accessPoint || str(e, 'accessPoint') === f.accessPoint) && (!f.camera || coverage().includes(str(e, 'accessPoint') ?? ''));
    if (kind === 'tap') {
      const ap = str(e, 'accessPointId', 'accessPoint') ?? '';
      return (!f.accessPoint || ap === f.accessPoint) && (!f.camera || coverage().includes(ap)) && (!f.person || str(obj(e, 'person'), 'externalId') === f.person);
    }
    if (kind === 'alert') {
      const a = e as unknown as Alert;
      return (!f.accessPoint || a.accessPoint === f.accessPoint) && (!f.person || a.data?.externalId === f.person) &&
        (!f.camera || a.source === `camera:${f.camera}` || (a.accessPoint !== null && coverage().includes(a.accessPoint)));
    }
    const aps = (e.accessPoints as string[] | undefined) ?? [];
    return !f.person && (!f.camera || str(e, 'cameraId') === f.camera) && (!f.accessPoint || aps.includes(f.accessPoint));
  };
  // ONVIF's `Initialized` tells the state at (re)subscription, not something that happened; the gateway keeps only changes.
  const initialState = (e: Json): boolean => str(e, 'operation')?.toLowerCase() === 'initialized';
  const live = (kind: string, toItem: (e: Json) => Json | null) => (e: Json) => {
    if (!matches(kind, e)) return;
    const item = toItem(e);
    const el = item ? render(item) : null;
    if (!el) return;
    list.querySelector('li:not(.tl-item)')?.remove();
    list.prepend(el);
  };
  // Remote opens live for the desk only: the event carries the guard's reason, which a viewer's page leaves out.
  followEvents(['tap.decided', 'alert.raised', 'lockdown.changed', 'camera.event', ...(fullView ? ['door.remote_opened'] : [])], signal, {
    on: {
      'door.remote_opened': live('door', (e) => ({ ...e, kind: 'door', id: `live-${num(e, 'at') ?? ''}` })),
      'tap.decided': live('tap', (e) => ({ ...e, kind: 'tap', id: str(e, 'tapId') ?? '' })),
      'alert.raised': live('alert', (e) => ({ kind: 'alert', id: str(e, 'id') ?? '', at: str(e, 'raisedAt') ?? '', alert: e, live: true })),
      'lockdown.changed': live('lockdown', (e) => ({ ...e, kind: 'lockdown', id: `live-${num(e, 'at') ?? ''}` })),
      'camera.event': live('camera', (e) => (bool(e, 'active') && !initialState(e) ? { ...e, kind: 'camera', id: `live-${str(e, 'cameraId')}-${str(e, 'at')}`, event: str(e, 'kind') } : null)),
    },
  });

  void (async () => {
    await Promise.all([
      learnPlaceNames(),
      getJson<unknown>('/cameras')
        .then((answer) => {
          const cams = asList(answer, 'cameras');
          for (const c of cams) cameras.set(str(c, 'id') ?? '', c);
          options(cameraSelect, t('timeline.anyCamera'), cams, f.camera);
        })
        .catch(() => undefined),
      getJson<unknown>('/access-points', { taps: 0 })
        .then((answer) => options(gateSelect, t('timeline.anyGate'), asList(answer, 'accessPoints'), f.accessPoint))
        .catch(() => undefined),
    ]);
    await loadOlder();
    observer.observe(older);
  })();
};
