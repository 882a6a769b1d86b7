/**
 * The live alert list: loaded from /alerts, kept current from the shell's SSE feed; acknowledge and
 * resolve with a note (security, admin); the camera snapshot attached as evidence, fetched with the token.
 * While the gateway does not answer, the last list stays on screen under a notice saying from when, and it is
 * reloaded when the gateway is back.
 */
import { ApiError, apiUrl, getBlob, getJson, isConnectionError, send } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n/index.js';
import { fmtAgo, fmtDateTime } from '../time.js';
import { recall, remember } from '../lastgood.js';
import { cameraName, learnNames, personName, placeName, zoneName } from '../names.js';
import type { Page } from '../router.js';
import { alertMessage, resolveNote } from '../server-text.js';
import { can, loadSession } from '../session.js';
import type { Alert, AlertPage, AlertStatus, Severity } from '../types.js';
import { triageOrder } from './alert-order.js';
import { actionError, badge, codeLabel, confirmDialog, empty, errorState, pageHeader, StaleNotice, toast } from '../ui.js';

type StatusFilter = 'active' | AlertStatus | 'all';
const STATUS_FILTERS: StatusFilter[] = ['active', 'open', 'acknowledged', 'resolved', 'all'];
const SEVERITIES: Severity[] = ['critical', 'warning', 'info'];

const statusParam = (f: StatusFilter): string | undefined => (f === 'all' ? undefined : f === 'active' ? 'open,acknowledged' : f);
/** Retry while the gateway does not answer (the stream coming back reloads the list too). */
const RETRY_MS = 5_000;

/** What the console reads of `GET /clips/:id/info`. */
interface ClipInfo {
  error: string | null;
}

interface KeptList {
  items: Alert[];
  nextBefore: string | null;
}

export { triageOrder } from './alert-order.js';

export const alertsPage: Page = (ctx) => {
  const { root, query, signal, session, feed } = ctx;
  const filter = {
    status: (STATUS_FILTERS as string[]).includes(query.get('status') ?? '') ? (query.get('status') as StatusFilter) : 'active',
    severity: (SEVERITIES as string[]).includes(query.get('severity') ?? '') ? (query.get('severity') as Severity) : '',
    type: query.get('type') ?? '',
    text: '',
  };
  /** The filter goes into the address, so a re-render (another language) and a reload keep it. */
  const filterChanged = (): void => {
    const q = new URLSearchParams(location.search);
    const set = (k: string, v: string, dflt: string): void => (v && v !== dflt ? q.set(k, v) : q.delete(k));
    set('status', filter.status, 'active');
    set('severity', filter.severity, '');
    set('type', filter.type, '');
    const qs = q.toString();
    history.replaceState(history.state, '', `${location.pathname}${qs ? `?${qs}` : ''}`);
    void load(false);
  };
  const alerts = new Map<string, Alert>();
  const fresh = new Set<string>();
  const knownTypes = new Set<string>();
  let nextBefore: string | null = null;
  // Loaded snapshots survive re-renders of the list (live updates, the clock tick) until the page is left.
  const snapshotUrls = new Map<string, string>();
  signal.addEventListener('abort', () => snapshotUrls.forEach((u) => URL.revokeObjectURL(u)));
  // What a guard is doing on a card survives the list being drawn again by a live update (a security-desk
  // walkthrough: at a busy gate the clip, the enlarged picture and the half-typed note went every few seconds):
  // the note typed, the pictures enlarged, the clip playing (the same <video>, so it plays on).
  const notes = new Map<string, string>();
  const enlarged = new Set<string>();
  const playing = new Map<string, HTMLVideoElement>();
  /** Clips the gateway could not make (or no longer has), with its reason (English, for IT, on hover). */
  const clipsGone = new Map<string, string>();

  const list = h('div', { class: 'alert-list', 'data-test': 'alert-list', 'aria-live': 'polite' });
  const notice = new StaleNotice();
  /** The list as the gateway answered it for these filters, kept for when it stops answering. */
  const keptKey = (): string => `alerts?${filter.status}&${filter.severity}&${filter.type}`;
  /** When the list on screen was last known to be the gateway's: loaded, or kept current by the live stream. */
  let currentAt = 0;
  let loaded = false;
  /** The last load found the gateway not answering: retried until it does. */
  let loadFailed = false;
  const keep = (at = Date.now()): void => {
    currentAt = at;
    remember<KeptList>(keptKey(), { items: [...alerts.values()], nextBefore }, at);
  };
  const markStale = (): void => {
    notice.mark('list', loaded && (loadFailed || feed.status === 'reconnecting') ? currentAt : null);
  };
  const more = h('button', { class: 'btn', hidden: true, onclick: () => void load(true) }, t('common.loadMore'));

  const matches = (a: Alert): boolean => {
    if (filter.status === 'active' && a.status === 'resolved') return false;
    if (filter.status !== 'active' && filter.status !== 'all' && a.status !== filter.status) return false;
    if (filter.severity && a.severity !== filter.severity) return false;
    if (filter.type && a.type !== filter.type) return false;
    if (filter.text) {
      const hay = `${alertMessage(a)} ${a.message} ${a.source} ${a.accessPoint ?? ''} ${a.zone ?? ''} ${typeLabel(a.type)}`.toLowerCase();
      if (!hay.includes(filter.text.toLowerCase())) return false;
    }
    return true;
  };

  const typeSelect = h('select', { 'data-test': 'filter-type', onchange: (e: Event) => ((filter.type = (e.target as HTMLSelectElement).value), filterChanged()) });
  const renderTypes = (): void => {
    replace(
      typeSelect,
      h('option', { value: '' }, t('alerts.allTypes')),
      ...[...knownTypes].sort().map((ty) => h('option', { value: ty, selected: ty === filter.type }, typeLabel(ty))),
    );
  };

  const renderList = (): void => {
    const shown = [...alerts.values()].filter(matches).sort(triageOrder);
    // What was kept for a card no longer on the list goes with it (a console left open for a shift).
    const onList = new Set(shown.map((a) => a.id));
    for (const id of [...playing.keys(), ...notes.keys()]) {
      if (onList.has(id)) continue;
      playing.delete(id);
      notes.delete(id);
    }
    if (shown.length === 0) replace(list, empty(t('alerts.none')));
    else replace(list, ...shown.map((a) => alertCard(a)));
    const open = shown.filter((a) => a.status === 'open');
    bulkAck.hidden = !can.handleAlerts(session.role) || open.length < 2;
    bulkAck.textContent = t('alerts.ackAllShown', { n: open.length });
    more.hidden = nextBefore === null;
    // Messages name people and places by id in the alert data: their names, once known, read better.
    void learnNames(shown).then((learnt) => learnt && !signal.aborted && renderList());
  };

  /** The list kept from before (another language, another page and back), shown until the gateway answers. */
  const restore = (): void => {
    const last = recall<KeptList>(keptKey());
    if (!last) return;
    alerts.clear();
    for (const a of last.value.items) {
      alerts.set(a.id, a);
      knownTypes.add(a.type);
    }
    nextBefore = last.value.nextBefore;
    currentAt = last.at;
    loaded = true;
    renderTypes();
    renderList();
    markStale();
  };

  const load = async (append: boolean): Promise<void> => {
    try {
      const page = await getJson<AlertPage>('/alerts', {
        status: statusParam(filter.status),
        severity: filter.severity || undefined,
        type: filter.type || undefined,
        limit: 100,
        before: append ? (nextBefore ?? undefined) : undefined,
      });
      if (signal.aborted) return;
      if (!append) alerts.clear();
      for (const a of page.items) {
        alerts.set(a.id, a);
        knownTypes.add(a.type);
      }
      nextBefore = page.nextBefore;
      loaded = true;
      loadFailed = false;
      keep();
      renderTypes();
      renderList();
    } catch (err) {
      if (signal.aborted) return;
      if (isConnectionError(err)) {
        // The gateway did not answer: the list kept for these filters, else the one on screen, stays, marked as
        // not current; an error only when there is none.
        if (!append) restore();
        loadFailed = loaded;
        if (loaded) renderList();
        else replace(list, errorState(err));
      } else if (append) {
        actionError(err);
      } else {
        loaded = false;
        loadFailed = false;
        alerts.clear();
        replace(list, errorState(err));
      }
    }
    markStale();
  };

  /** Acknowledge is one click: the note, if any, was typed on the card. */
  const acknowledge = async (a: Alert, note: string): Promise<void> => {
    try {
      const updated = await send<Alert>('POST', `/alerts/${encodeURIComponent(a.id)}/ack`, note ? { note } : {});
      notes.delete(a.id);
      alerts.set(updated.id, updated);
      if (loaded && !notice.stale) keep();
      renderList();
      toast(t('alerts.acked'));
    } catch (err) {
      actionError(err);
      void load(false);
    }
  };

  /** Every open alert the filters show, acknowledged in one request (a guard back from a round). */
  const acknowledgeShown = async (): Promise<void> => {
    const ids = [...alerts.values()].filter((a) => matches(a) && a.status === 'open').map((a) => a.id).slice(0, 500);
    if (ids.length === 0) return;
    const r = await confirmDialog({ title: t('alerts.ackAllTitle', { n: ids.length }), confirm: t('alerts.ack'), note: true });
    if (!r.ok) return;
    try {
      const out = await send<{ acknowledged: string[]; skipped: { id: string }[] }>('POST', '/alerts/ack', r.note ? { ids, note: r.note } : { ids });
      toast(t('alerts.ackedN', { n: out.acknowledged.length }));
    } catch (err) {
      actionError(err);
    }
    void load(false);
  };
  const bulkAck = h('button', { class: 'btn', hidden: true, 'data-test': 'ack-all', onclick: () => void acknowledgeShown() });

  const act = async (a: Alert, action: 'ack' | 'resolve'): Promise<void> => {
    const r = await confirmDialog({
      title: action === 'ack' ? t('alerts.ackTitle') : t('alerts.resolveTitle'),
      message: `${typeLabel(a.type)} · ${alertMessage(a)}`,
      confirm: action === 'ack' ? t('alerts.ack') : t('alerts.resolve'),
      note: true,
    });
    if (!r.ok) return;
    try {
      const updated = await send<Alert>('POST', `/alerts/${encodeURIComponent(a.id)}/${action}`, r.note ? { note: r.note } : {});
      alerts.set(updated.id, updated);
      if (loaded && !notice.stale) keep();
      renderList();
      toast(action === 'ack' ? t('alerts.acked') : t('alerts.resolved'));
    } catch (err) {
      // The lockdown's alert stays open while the lockdown lasts: say where to end it.
      if (err instanceof ApiError && err.status === 409 && a.type === 'lockdown' && action === 'resolve') toast(t('alerts.lockdownStillOn'), 'error');
      else actionError(err);
      void load(false);
    }
  };

  /** The pictures on the card itself, newest first, as thumbnails a click enlarges: no button between guard and photo. */
  const snapshotBox = (a: Alert): HTMLElement => {
    const box = h('div', { class: 'snapshot-box' });
    const ids = [...a.snapshotIds].reverse().slice(0, SNAPSHOTS_ON_CARD);
    for (const id of ids) {
      const toggle = (e: Event): void => {
        const small = (e.currentTarget as HTMLElement).classList.toggle('thumb');
        if (small) enlarged.delete(id);
        else enlarged.add(id);
      };
      const img = h('img', { alt: t('alerts.snapshot'), class: `snapshot ${enlarged.has(id) ? '' : 'thumb'}`, 'data-test': 'alert-snapshot', 'data-snapshot': id, onclick: toggle });
      box.append(img);
      const known = snapshotUrls.get(id);
      if (known) {
        img.src = known;
        continue;
      }
      void getBlob(`/snapshots/${encodeURIComponent(id)}`).then(
        (blob) => {
          if (signal.aborted) return;
          const url = URL.createObjectURL(blob);
          snapshotUrls.set(id, url);
          img.src = url;
        },
        // Not loaded (the gateway is down, the picture aged out): the card stays as it is; the next render asks again.
        () => img.classList.add('missing'),
      );
    }
    return box;
  };

  /**
   * Clips play straight from the gateway: <video> cannot set headers, so the token rides in the query. A clip that
   * could not be made (the camera was not streaming at the moment of the alert) is kept by the gateway to say why: its
   * details are asked first, so the guard reads that rather than a player that fails, and the card keeps saying it
   * through live updates instead of offering the same button again.
   */
  const clipBox = (a: Alert): HTMLElement => {
    const box = h('div', { class: 'clip-box' });
    const clips = a.clipIds ?? [];
    // Several clips (the alert happened again): numbered, oldest first, so the guard knows which is which.
    const nth = (i: number): string => (clips.length > 1 ? ` ${i + 1}` : '');
    const entry = (id: string, i: number): HTMLElement => {
      const why = clipsGone.get(id);
      if (why !== undefined) return h('span', { class: 'muted small', 'data-test': 'clip-gone', title: why }, `${t('alerts.clipUnavailable')}${nth(i)}`);
      return h('button', { class: 'btn small', 'data-test': 'show-clip', onclick: () => void show(id) }, `${t('alerts.showClip')}${nth(i)}`);
    };
    const fail = (id: string, why: string): void => {
      playing.delete(a.id);
      clipsGone.set(id, why);
      replace(box, ...clips.map(entry));
    };
    const show = async (id: string): Promise<void> => {
      try {
        const info = await getJson<ClipInfo>(`/clips/${encodeURIComponent(id)}/info`);
        if (info.error) return fail(id, info.error);
      } catch (err) {
        // Not answering says nothing about the clip: the button stays for another try.
        if (isConnectionError(err)) return actionError(err);
        return fail(id, err instanceof Error ? err.message : '');
      }
      if (signal.aborted) return;
      const video = h('video', { controls: true, autoplay: true, muted: true, class: 'clip', 'data-test': 'alert-clip' });
      video.src = apiUrl(`/clips/${encodeURIComponent(id)}`, { access_token: loadSession()?.token ?? '' });
      video.addEventListener('error', () => fail(id, video.error?.message ?? ''));
      playing.set(a.id, video);
      replace(box, video);
    };
    const open = playing.get(a.id);
    if (open) replace(box, open);
    else replace(box, ...clips.map(entry));
    return box;
  };

  const alertCard = (a: Alert): HTMLElement => {
    const actions: HTMLElement[] = [];
    if (can.handleAlerts(session.role) && a.status === 'open') {
      const note = h('input', {
        class: 'ack-note', name: 'ack-note', maxlength: 1000, value: notes.get(a.id) ?? '', placeholder: t('common.notePlaceholder'), 'aria-label': t('common.notePlaceholder'), 'data-test': 'ack-note',
        oninput: () => notes.set(a.id, note.value),
      });
      actions.push(note, h('button', { class: 'btn primary', 'data-test': 'ack', onclick: () => void acknowledge(a, note.value.trim()) }, t('alerts.ack')));
    }
    if (can.handleAlerts(session.role) && a.status !== 'resolved') {
      actions.push(h('button', { class: 'btn', 'data-test': 'resolve', onclick: () => void act(a, 'resolve') }, t('alerts.resolve')));
    }
    // The access point by its name; the zone's name only when there is no access point.
    const place = a.accessPoint ? (placeName(a.accessPoint) ?? a.accessPoint) : a.zone ? (zoneName(a.zone) ?? a.zone) : null;
    const cameraId = typeof a.data.cameraId === 'string' ? a.data.cameraId : a.source.startsWith('camera:') ? a.source.slice(7) : null;
    const personId = typeof a.data.externalId === 'string' ? a.data.externalId : null;
    const link = (href: string, text: string, test: string): HTMLElement => h('a', { href, 'data-link': '', 'data-test': test }, text);
    return h(
      'article',
      { class: `alert-card sev-${a.severity} st-${a.status} ${fresh.has(a.id) ? 'fresh' : ''}`, 'data-test': 'alert', 'data-id': a.id, 'data-type': a.type, 'data-severity': a.severity, 'data-status': a.status },
      h(
        'div',
        { class: 'alert-head' },
        badge(t(`severity.${a.severity}`), `sev-${a.severity}`),
        h('strong', { class: 'alert-type' }, typeLabel(a.type)),
        a.count > 1 ? badge(t('alerts.repeated', { n: a.count }), 'count') : null,
        badge(t(`status.${a.status}`), `st-${a.status}`),
        h('time', { datetime: a.lastRaisedAt, title: fmtDateTime(a.lastRaisedAt), 'data-ago': '' }, fmtAgo(a.lastRaisedAt)),
      ),
      h('p', { class: 'alert-message', 'data-test': 'alert-message' }, alertMessage(a)),
      h(
        'p',
        { class: 'muted small' },
        `${t('alerts.source')}: ${a.source}`,
        place ? ` · ${t('alerts.place')}: ` : '',
        place ? (a.accessPoint ? link('/gates', place, 'place-link') : place) : '',
        cameraId ? ` · ${t('alerts.camera')}: ` : '',
        cameraId ? link(`/cameras/${encodeURIComponent(cameraId)}`, cameraName(cameraId) ?? cameraId, 'camera-link') : '',
        personId ? ` · ${t('alerts.person')}: ` : '',
        personId ? link(`/attendance?person=${encodeURIComponent(personId)}`, personName(typeof a.data.personId === 'number' ? a.data.personId : undefined) ?? personId, 'person-link') : '',
        ` · ${fmtDateTime(a.raisedAt)}`,
        a.count > 1 ? ` · ${t('alerts.lastAt', { at: fmtDateTime(a.lastRaisedAt) })}` : '',
      ),
      a.acknowledgedBy
        ? h(
            'p',
            { class: 'small', 'data-test': a.status === 'open' ? 'reopened' : 'acked-by' },
            // Open again after an acknowledgement: it happened again since (the gateway reopens it).
            t(a.status === 'open' ? 'alerts.reopened' : 'alerts.ackedBy', { user: a.acknowledgedBy, at: fmtDateTime(a.acknowledgedAt ?? '') }),
            a.ackNote ? ` — ${a.ackNote}` : '',
          )
        : null,
      a.resolvedBy === 'gateway'
        ? // Resolved by the gateway itself when the condition cleared; its own note (English) is there for IT.
          h('p', { class: 'small', title: a.resolveNote ?? '' }, t('alerts.autoResolved', { at: fmtDateTime(a.resolvedAt ?? '') }))
        : a.resolvedBy
          ? h('p', { class: 'small' }, t('alerts.resolvedBy', { user: a.resolvedBy, at: fmtDateTime(a.resolvedAt ?? '') }), resolveNote(a) ? ` — ${resolveNote(a)}` : '')
          : null,
      a.snapshotIds.length && can.snapshots(session.role) ? snapshotBox(a) : null,
      a.clipIds?.length && can.snapshots(session.role) ? clipBox(a) : null,
      actions.length ? h('div', { class: 'alert-actions' }, ...actions) : null,
    );
  };

  const statusSelect = h(
    'select',
    { 'data-test': 'filter-status', onchange: (e: Event) => ((filter.status = (e.target as HTMLSelectElement).value as StatusFilter), filterChanged()) },
    ...STATUS_FILTERS.map((s) => h('option', { value: s, selected: s === filter.status }, t(`alerts.filter.${s}`))),
  );
  const severitySelect = h(
    'select',
    { 'data-test': 'filter-severity', onchange: (e: Event) => ((filter.severity = (e.target as HTMLSelectElement).value as Severity | ''), filterChanged()) },
    h('option', { value: '' }, t('alerts.allSeverities')),
    ...SEVERITIES.map((s) => h('option', { value: s, selected: s === filter.severity }, t(`severity.${s}`))),
  );
  const search = h('input', {
    type: 'search',
    placeholder: t('alerts.search'),
    'data-test': 'filter-text',
    oninput: (e: Event) => ((filter.text = (e.target as HTMLInputElement).value.trim()), renderList()),
  });

  replace(
    root,
    pageHeader(t('alerts.title')),
    notice.el,
    // The gateway sends a viewer's alerts without pictures and clips: said once, so cards without them do not read
    // as cameras that failed.
    can.snapshots(session.role) ? null : h('p', { class: 'muted small', 'data-test': 'alerts-pictures-hidden' }, t('alerts.picturesHidden')),
    h(
      'div',
      { class: 'filters' },
      h('label', {}, t('alerts.status'), statusSelect),
      h('label', {}, t('alerts.severity'), severitySelect),
      h('label', {}, t('alerts.type'), typeSelect),
      h('label', {}, t('common.search'), search),
      bulkAck,
    ),
    list,
    more,
  );

  feed.on((kind, a) => {
    if (!knownTypes.has(a.type)) {
      knownTypes.add(a.type);
      renderTypes();
    }
    if (kind === 'alert.raised') {
      fresh.add(a.id);
      setTimeout(() => {
        fresh.delete(a.id);
        list.querySelector(`[data-id="${a.id}"]`)?.classList.remove('fresh');
      }, 10_000);
    }
    alerts.set(a.id, a);
    if (loaded && !loadFailed) keep();
    renderList();
  }, signal);
  // Events during a dropped connection were missed: reload the list when the stream comes back. Until then the
  // list is what it was when the stream dropped.
  feed.onStatus((s, reconnected) => {
    if (s === 'reconnecting' && loaded && !loadFailed && !notice.stale) keep();
    markStale();
    if (s === 'live' && reconnected) void load(false);
  }, signal);
  // Keeps "3 minutes ago" true without drawing the list again.
  ctx.every(30_000, () => list.querySelectorAll<HTMLTimeElement>('time[data-ago]').forEach((el) => (el.textContent = fmtAgo(el.dateTime))));
  ctx.every(RETRY_MS, () => {
    if (loadFailed) void load(false);
  });
  restore();
  void load(false);
};

/** How many of an alert's pictures the card shows (the newest). */
const SNAPSHOTS_ON_CARD = 3;
function typeLabel(type: string): string {
  return codeLabel('alertType', type);
}
