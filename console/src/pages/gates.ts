/**
 * Gates and lockdown: each access point with its latest taps (live from the bus), and the lockdown switch
 * with a confirmation. Only security and admin are offered the switch and the remote open of controller doors
 * (door-open.ts); the API refuses everyone else.
 * The lockdown state is the shell's (the banner on every page shows it too).
 */
import { getJson, send } from '../api.js';
import { asList, bool, num, obj, str, type Json } from '../data.js';
import { followEvents } from '../follow.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n/index.js';
import { fmtDateTime, fmtTime } from '../time.js';
import type { Page } from '../router.js';
import { can } from '../session.js';
import { DoorLockdownLines } from '../door-lockdown.js';
import { doorOpenControl } from '../door-open.js';
import { emergencyControl } from '../emergency.js';
import { nameOf, placeName, rememberPlaces } from '../names.js';
import { personCards } from '../person-cards.js';
import { personSearch } from '../person-search.js';
import { actionError, badge, codeLabel, confirmDialog, empty, errorState, fill, fillFrom, latestOnly, loading, pageHeader, panel, StaleNotice, toast } from '../ui.js';

const TAPS_SHOWN = 8;

const whenMs = (at: number | string): number => (typeof at === 'number' ? at : Date.parse(at));

/**
 * One tap. Under an access point it needs no place and today's time is enough; in a person's list (`anywhere`) each
 * line says where, and the day, since their taps span places and days. A door let open since a lockdown started
 * (`lockdownSince`, epoch ms) is marked: security staff, or a door controller that did not take the lockdown.
 */
function tapLine(tap: Json, anywhere = false, lockdownSince: number | null = null): HTMLElement {
  const granted = bool(tap, 'granted') ?? false;
  const reason = str(tap, 'reason') ?? '';
  const person = obj(tap, 'person');
  const who = person ? [str(person, 'name'), str(person, 'class')].filter(Boolean).join(' · ') : str(tap, 'uid') ?? '';
  // Stored taps and live `tap.decided` events both carry `at` as epoch ms.
  const at = num(tap, 'at') ?? str(tap, 'at') ?? '';
  const dir = str(tap, 'direction');
  const ap = str(tap, 'accessPoint');
  return h(
    'li',
    { class: `tap ${granted ? 'granted' : 'denied'}`, 'data-test': 'tap' },
    h('time', {}, at === '' ? '' : anywhere ? fmtDateTime(at) : fmtTime(at)),
    badge(granted ? t('gates.granted') : t('gates.denied'), granted ? 'ok' : 'bad'),
    anywhere && ap ? h('span', { 'data-test': 'tap-place' }, placeName(ap) ?? ap) : null,
    dir ? h('span', { class: 'muted small' }, codeLabel('direction', dir)) : null,
    h('span', { class: 'who' }, who),
    granted ? null : h('span', { class: 'muted small' }, codeLabel('reason', reason)),
    granted && lockdownSince !== null && whenMs(at) >= lockdownSince ? badge(t('gates.tapDuringLockdown'), 'bad') : null,
  );
}

export const gatesPage: Page = ({ root, session, signal, every, lockdown: watch }) => {
  const lockdown = h('div', { 'data-test': 'lockdown' }, loading());
  const points = h('div', { class: 'ap-grid', 'data-test': 'access-points' }, loading());
  const notice = new StaleNotice();
  const tapLists = new Map<string, HTMLUListElement>();
  // Under the switch: the emergency message to guardians a person confirms when a lockdown starts or ends.
  const broadcast = emergencyControl(session.role, watch, signal);
  // One person's latest taps at every gate and door, found by name, initials, number, class or card.
  const personTaps = h('ul', { class: 'taps', 'data-test': 'person-taps' });
  const cards = personCards(session.role);
  const askTaps = latestOnly();
  const finder = personSearch({
    test: 'gate-person',
    onPick: (p) => {
      cards.show(p);
      void fill(personTaps, async () => {
        const items = asList(await getJson<unknown>('/taps', { personId: p.id, limit: TAPS_SHOWN }));
        return items.length ? items.map((x) => tapLine(x, true)) : [empty()];
      }, askTaps());
    },
  });
  replace(
    root,
    pageHeader(t('gates.title')),
    notice.el,
    panel(t('gates.lockdown'), lockdown, broadcast),
    panel(t('gates.personTaps'), finder, cards.el, personTaps),
    panel(t('gates.accessPoints'), points),
  );

  // The shell's lockdown state (the banner on every page): read again after every change, drawn here with the switch.
  const change = async (start: boolean): Promise<void> => {
    const r = await confirmDialog({
      title: start ? t('gates.startLockdown') : t('gates.endLockdown'),
      message: start ? t('gates.startLockdownWarning') : t('gates.endLockdownWarning'),
      confirm: start ? t('gates.startLockdown') : t('gates.endLockdown'),
      danger: start,
      note: start,
      notePlaceholder: t('gates.reasonPlaceholder'),
    });
    if (!r.ok) return;
    try {
      if (start) await send('POST', '/lockdown', r.note ? { reason: r.note } : {});
      else await send('DELETE', '/lockdown');
      toast(start ? t('gates.lockdownStarted') : t('gates.lockdownEnded'));
    } catch (err) {
      actionError(err);
    }
    void watch.refresh();
  };
  const renderLockdown = (): void => {
    notice.mark('lockdown', watch.stale ? watch.at : null);
    const s = watch.state;
    if (!s) {
      if (watch.error) replace(lockdown, errorState(watch.error));
      return;
    }
    const control = can.lockdown(session.role)
      ? h(
          'button',
          { class: `btn ${s.active ? 'primary' : 'danger'} big`, 'data-test': s.active ? 'lockdown-end' : 'lockdown-start', onclick: () => void change(!s.active) },
          s.active ? t('gates.endLockdown') : t('gates.startLockdown'),
        )
      : null;
    replace(
      lockdown,
      h(
        'div',
        { class: `lockdown-box ${s.active ? 'active' : ''}`, 'data-active': String(s.active) },
        h(
          'div',
          {},
          h('strong', { class: 'lockdown-state' }, s.active ? t('gates.lockdownActive') : t('gates.lockdownInactive')),
          s.active
            ? h('p', { class: 'small' }, t('gates.lockdownSince', { user: s.startedBy ?? '', at: fmtDateTime(s.startedAt ?? '') }), s.reason ? ` — ${s.reason}` : '')
            : null,
        ),
        control,
      ),
    );
  };
  watch.on(renderLockdown, signal);
  renderLockdown();
  void watch.refresh();

  const doorLockdown = new DoorLockdownLines();
  /** When the lockdown on now started, epoch ms; null when none is. */
  const lockdownSince = (): number | null => (watch.state?.active && watch.state.startedAt ? Date.parse(watch.state.startedAt) : null);
  // During a lockdown, whether each point's controller doors took it: after the cards are drawn, when the lockdown
  // changes, and every 10 s while it lasts (a controller answering again is reconciled).
  const showDoorLockdown = (): void => void doorLockdown.refresh(watch.state?.active === true);
  // A lockdown started or ended: the tap lists are drawn again, for their marks.
  let drawnSince = lockdownSince();
  watch.on(() => {
    if (lockdownSince() === drawnSince) return showDoorLockdown();
    drawnSince = lockdownSince();
    void loadPoints().then(showDoorLockdown);
  }, signal);
  every(10_000, () => {
    if (watch.state?.active) showDoorLockdown();
  });
  const loadPoints = (): Promise<boolean> =>
    fillFrom(
      points,
      notice,
      `/access-points?taps=${TAPS_SHOWN}`,
      async () => {
        const answer = await getJson<unknown>('/access-points', { taps: TAPS_SHOWN });
        rememberPlaces(answer);
        return asList(answer, 'accessPoints');
      },
      (aps) => {
        tapLists.clear();
        doorLockdown.clear();
        if (aps.length === 0) return empty();
        return aps.map((ap) => {
          const id = str(ap, 'id') ?? '';
          const list = h('ul', { class: 'taps' });
          tapLists.set(id, list);
          const latest = asList(ap.latestTaps ?? ap.taps);
          if (latest.length) replace(list, ...latest.slice(0, TAPS_SHOWN).map((x) => tapLine(x, false, lockdownSince())));
          else void loadTaps(id, list);
          return h(
            'div',
            { class: 'ap-card', 'data-test': 'access-point', 'data-id': id },
            h('div', { class: 'ap-head' }, h('strong', { 'data-test': 'ap-name' }, nameOf(ap)), badge(codeLabel('apKind', str(ap, 'kind') ?? ''), 'kind')),
            doorOpenControl(ap, session.role, () => watch.state?.active === true),
            doorLockdown.line(id),
            // Ids only here, for whoever configures or reports a fault.
            h('div', { class: 'muted small', 'data-test': 'details' }, id),
            list,
          );
        });
      },
    );

  const loadTaps = async (id: string, list: HTMLUListElement): Promise<void> => {
    try {
      const taps = asList(await getJson<unknown>('/taps', { accessPoint: id, limit: TAPS_SHOWN }), 'taps');
      replace(list, ...(taps.length ? taps.map((x) => tapLine(x, false, lockdownSince())) : [h('li', { class: 'muted' }, t('gates.noTaps'))]));
    } catch (err) {
      replace(list, h('li', {}, errorState(err)));
    }
  };

  // Taps arrive live; the stream closes when the page is left. Taps during a dropped stream were missed: the
  // lists are read again when it is back (until then they stay, under the page's notice).
  followEvents(['tap.decided'], signal, {
    on: {
      'tap.decided': (tap) => {
        const list = tapLists.get(str(tap, 'accessPointId', 'accessPoint') ?? '');
        if (!list) return;
        list.querySelector('li.muted')?.remove();
        list.prepend(tapLine(tap, false, lockdownSince()));
        while (list.children.length > TAPS_SHOWN) list.lastElementChild?.remove();
      },
    },
    // The lists are as of the moment the stream dropped: say so, as the other pages do.
    dropped: () => notice.mark('live', Date.now()),
    back: () => {
      notice.mark('live', null);
      void loadPoints().then(showDoorLockdown);
    },
  });

  void loadPoints().then(showDoorLockdown);
};
