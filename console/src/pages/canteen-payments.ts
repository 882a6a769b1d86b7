/**
 * The canteen's latest payments, newest first, kept live from the bus: the desk sees at a glance who just paid (or
 * was refused, and why) at which till, without searching for the person. Viewers get the same rows without the
 * amount: the gateway strips it for them (gateway/http/visibility.ts), so a missing amount shows as "—".
 */
import { getJson } from '../api.js';
import { asList, bool, num, obj, str, type Json } from '../data.js';
import { followEvents } from '../follow.js';
import { h, replace } from '../dom.js';
import { fmtMoney, t } from '../i18n/index.js';
import { learnPlaceNames, readerName } from '../names.js';
import { fmtTime } from '../time.js';
import { badge, codeLabel, errorState, loading, panel } from '../ui.js';

export const PAYMENTS_SHOWN = 20;

/** The column headings, also each cell's label when the phone layout shows rows as cards. */
const headings = (): string[] => [t('common.time'), t('canteen.reviewPerson'), t('canteen.terminal'), t('canteen.amount'), t('canteen.result')];

function paymentRow(tap: Json): HTMLElement {
  const [lTime, lWho, lTerminal, lAmount, lResult] = headings();
  const granted = bool(tap, 'granted') ?? false;
  const person = obj(tap, 'person');
  const readerId = str(tap, 'readerId') ?? '';
  const amount = num(tap, 'amount');
  // Stored taps and live `tap.decided` events both carry `at` as epoch ms.
  const at = num(tap, 'at');
  return h(
    'tr',
    { 'data-test': 'payment', 'data-id': str(tap, 'id', 'tapId') ?? '' },
    h('td', { 'data-label': lTime }, at !== undefined ? fmtTime(at) : ''),
    h('td', { 'data-label': lWho, 'data-test': 'payment-person' }, person ? [str(person, 'name'), str(person, 'class')].filter(Boolean).join(' · ') : t('canteen.reviewNobody')),
    h('td', { 'data-label': lTerminal }, readerName(readerId) ?? readerId),
    h('td', { class: 'num', 'data-label': lAmount, 'data-test': 'payment-amount' }, amount !== undefined ? fmtMoney(amount) : '—'),
    h(
      'td',
      { 'data-label': lResult, 'data-test': 'payment-result' },
      badge(granted ? t('canteen.paid') : t('canteen.refused'), granted ? 'ok' : 'bad'),
      granted ? null : h('span', { class: 'muted small' }, ` ${codeLabel('reason', str(tap, 'reason') ?? '')}`),
    ),
  );
}

/** The panel; its stream closes with the page (signal). */
export function recentPaymentsPanel(signal: AbortSignal): HTMLElement {
  const body = h('tbody', { 'data-test': 'payments' });
  const holder = h('div', { 'data-test': 'recent-payments' }, loading());
  const canteens = new Set<string>();
  const show = (rows: HTMLElement[]): void => {
    replace(body, ...rows);
    replace(
      holder,
      rows.length === 0
        ? h('p', { class: 'muted empty', 'data-test': 'payments-none' }, t('canteen.recentNone'))
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              {},
              h('thead', {}, h('tr', {}, ...headings().map((x) => h('th', {}, x)))),
              body,
            ),
          ),
    );
  };
  const load = async (): Promise<void> => {
    try {
      // Every access point of kind canteen (a school may have more than one hall), then their latest taps merged.
      const [answer] = await Promise.all([getJson<unknown>('/access-points', { taps: 0 }), learnPlaceNames()]);
      canteens.clear();
      for (const ap of asList(answer)) if (str(ap, 'kind') === 'canteen') canteens.add(str(ap, 'id') ?? '');
      const lists = await Promise.all([...canteens].map(async (id) => asList(await getJson<unknown>('/taps', { accessPoint: id, limit: PAYMENTS_SHOWN }))));
      // Tap ids are ULIDs: the highest is the newest.
      const taps = lists.flat().sort((a, b) => ((str(b, 'id') ?? '') > (str(a, 'id') ?? '') ? 1 : -1));
      show(taps.slice(0, PAYMENTS_SHOWN).map(paymentRow));
    } catch (err) {
      replace(holder, errorState(err));
    }
  };

  followEvents(['tap.decided'], signal, {
    on: {
      'tap.decided': (tap) => {
        if (str(tap, 'accessPointKind') !== 'canteen' && !canteens.has(str(tap, 'accessPointId') ?? '')) return;
        show([paymentRow(tap), ...(Array.from(body.children) as HTMLElement[])].slice(0, PAYMENTS_SHOWN));
      },
    },
    // Payments made while the stream was down were missed: read the list again when it is back.
    back: () => void load(),
  });

  void load();
  return panel(t('canteen.recent'), holder);
}
