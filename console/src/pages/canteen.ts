/**
 * Canteen: who just paid, for everyone (amounts for the desk); today's sales and a person's balance and history
 * (security, admin); top-up and the review of offline terminal sales the wallet held (admin).
 */
import { learnPlaceNames, readerName } from '../names.js';
import { walletReason } from '../server-text.js';
import { personSearch } from '../person-search.js';
import { recentPaymentsPanel } from './canteen-payments.js';
import { getJson, send } from '../api.js';
import { h, replace } from '../dom.js';
import { fmtMoney, t } from '../i18n/index.js';
import { fmtDateTime } from '../time.js';
import { parseYuan } from '../money.js';
import type { Page, PageContext } from '../router.js';
import type { SalesSummary } from '../types.js';
import { can } from '../session.js';
import { actionError, codeLabel, confirmDialog, fill, pageHeader, panel, runAction, stat, table, toast } from '../ui.js';

interface Entry {
  id: number;
  kind: string;
  amountFen: number;
  reason: string | null;
  actor: string;
  readerId: string | null;
  occurredAt: string;
}

/** An offline sale held for review (GET /wallet/review). */
interface HeldSale {
  readerId: string;
  seq: number;
  uid: string | null;
  person: { externalId: string; name: string; class: string | null } | null;
  amountFen: number;
  occurredAt: string;
  reason: string;
}

interface Account {
  person: { id: number; externalId: string; name: string; grade: string | null; class: string | null };
  balanceFen: number;
  /** Absent from a gateway older than the PIN. */
  pin?: { set: boolean; lockedUntil: string | null };
  entries: Entry[];
}

export const canteenPage: Page = ({ root, session, query, navigate, feed, signal }) => {
  // No date asked: the gateway's today in the school's time zone, which the browser's clock may not share.
  const date = h('input', { type: 'date', value: query.get('date') ?? '', 'data-test': 'sales-date', onchange: () => void loadSales() });
  const sales = h('div', { 'data-test': 'sales' });
  const loadSales = (): Promise<boolean> =>
    fill(sales, async () => {
      const [s] = await Promise.all([getJson<SalesSummary>('/wallet/sales', { date: date.value || undefined }), learnPlaceNames()]);
      if (!date.value) date.value = s.date;
      const maxHour = Math.max(1, ...s.byHour.map((x) => x.sumFen));
      return [
        h(
          'div',
          { class: 'stats' },
          stat(t('canteen.count'), s.count),
          stat(t('canteen.gross'), fmtMoney(s.grossFen)),
          stat(t('canteen.refunds'), fmtMoney(s.refundsFen)),
          stat(t('canteen.net'), fmtMoney(s.netFen), 'ok'),
          stat(t('canteen.buyers'), s.buyers),
        ),
        h('h3', {}, t('canteen.byHour')),
        s.byHour.length
          ? h(
              'div',
              { class: 'bars' },
              ...s.byHour.map((x) =>
                h(
                  'div',
                  { class: 'bar-row' },
                  h('span', { class: 'bar-label' }, `${String(x.hour).padStart(2, '0')}:00`),
                  h('span', { class: 'bar', style: `width: ${Math.max(2, Math.round((x.sumFen / maxHour) * 100))}%` }),
                  h('span', { class: 'bar-value' }, `${fmtMoney(x.sumFen)} · ${x.count}`),
                ),
              ),
            )
          : null,
        h('h3', {}, t('canteen.byTerminal')),
        table([t('canteen.terminal'), t('canteen.count'), t('canteen.gross')], s.byTerminal.map((x) => [readerName(x.readerId) ?? x.readerId, x.count, fmtMoney(x.sumFen)])),
      ];
    });

  const sections: HTMLElement[] = [
    ...(can.salesTotals(session.role) ? [panel(t('canteen.sales'), h('div', { class: 'filters' }, h('label', {}, t('common.date'), date)), sales)] : []),
    // Who just paid or was refused, live; amounts only for the roles the gateway sends them to.
    recentPaymentsPanel(signal),
  ];

  if (can.handleAlerts(session.role)) {
    const personId = query.get('person') ?? '';
    const account = h('div', { 'data-test': 'wallet-account' });
    const loadAccount = (): Promise<boolean> =>
      fill(account, async () => {
        const id = personId;
        // Terminals by their names: learnt with the places, once per tab.
        const [a] = await Promise.all([getJson<Account>(`/wallet/${encodeURIComponent(id)}`, { limit: 50 }), learnPlaceNames()]);
        const who = [a.person.name, a.person.grade, a.person.class].filter(Boolean).join(' · ');
        return [
          h('div', { class: 'stats' }, stat(who || a.person.externalId, fmtMoney(a.balanceFen), 'ok')),
          can.topUp(session.role) ? topUpForm(a, () => void loadAccount()) : null,
          can.topUp(session.role) && a.pin ? pinForm(a, a.pin, () => void loadAccount()) : null,
          h('h3', {}, t('canteen.history')),
          table(
            [t('common.time'), t('canteen.kind'), t('canteen.amount'), t('canteen.reason'), t('canteen.terminal')],
            a.entries.map((e) => [
              fmtDateTime(e.occurredAt),
              codeLabel('entryKind', e.kind),
              h('span', { class: e.amountFen < 0 ? 'neg' : 'pos' }, fmtMoney(e.amountFen)),
              walletReason(e.reason),
              e.readerId ? (readerName(e.readerId) ?? e.readerId) : e.actor,
            ]),
          ),
        ];
      });
    // Found by name, initials, number, class or card; the account is then asked for by the person's number.
    const form = personSearch({ value: personId, test: 'wallet-person', onPick: (p) => navigate(`/canteen?person=${encodeURIComponent(p.externalId)}`) });
    sections.push(panel(t('canteen.account'), form, account));
    if (personId) void loadAccount();
  }
  if (can.topUp(session.role)) sections.push(reviewPanel(() => void loadSales(), feed, signal));

  replace(root, pageHeader(t('canteen.title')), ...sections);
  if (can.salesTotals(session.role)) void loadSales();
};

function topUpForm(a: Account, reload: () => void): HTMLElement {
  const amount = h('input', { name: 'amount', inputmode: 'decimal', placeholder: t('canteen.amountPlaceholder'), 'data-test': 'topup-amount', required: true });
  const reason = h('input', { name: 'reason', placeholder: t('canteen.reasonPlaceholder'), 'data-test': 'topup-reason', required: true });
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const fen = parseYuan(amount.value);
    if (fen === null) {
      toast(t('canteen.badAmount'), 'error');
      return;
    }
    const ok = await confirmDialog({ title: t('canteen.topUp'), message: t('canteen.topUpConfirm', { amount: fmtMoney(fen), name: a.person.name }), confirm: t('canteen.topUp') });
    if (!ok.ok) return;
    await runAction(() => send('POST', `/wallet/${encodeURIComponent(a.person.externalId)}/topup`, { amountFen: fen, reason: reason.value.trim() }), t('canteen.toppedUp'), reload);
  };
  return h(
    'form',
    { class: 'filters topup', onsubmit: (e: Event) => void submit(e) },
    h('label', {}, t('canteen.amount'), amount),
    h('label', {}, t('canteen.reason'), reason),
    h('button', { class: 'btn primary', type: 'submit', 'data-test': 'topup' }, t('canteen.topUp')),
  );
}

/**
 * The card holder's PIN for canteen payments above the school's daily amount (access.wallet.pinAboveDailyFen),
 * typed by the holder at the desk. Setting it again also lifts a lock after wrong tries.
 */
function pinForm(a: Account, pin: NonNullable<Account['pin']>, reload: () => void): HTMLElement {
  const input = h('input', { name: 'pin', type: 'password', inputmode: 'numeric', autocomplete: 'off', pattern: '[0-9]{4,6}', maxlength: 6, 'data-test': 'pin-input', required: true });
  const state = pin.lockedUntil ? t('canteen.pinLocked', { at: fmtDateTime(pin.lockedUntil) }) : pin.set ? t('canteen.pinSet') : t('canteen.pinNotSet');
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (!/^\d{4,6}$/.test(input.value)) {
      toast(t('canteen.pinBad'), 'error');
      return;
    }
    await runAction(() => send('PUT', `/wallet/${encodeURIComponent(a.person.externalId)}/pin`, { pin: input.value }), t('canteen.pinSaved'), () => {
      input.value = '';
      reload();
    });
  };
  return h(
    'form',
    { class: 'filters pin', onsubmit: (e: Event) => void submit(e) },
    h('span', { class: pin.lockedUntil ? 'neg' : 'muted', 'data-test': 'pin-state' }, state),
    h('label', {}, t('canteen.pin'), input),
    h('button', { class: 'btn', type: 'submit', 'data-test': 'pin-save' }, t('canteen.pinSave')),
  );
}

/**
 * Sales a terminal made while it could not reach the gateway and the wallet could not charge by itself (a lost or
 * unknown card, a cap, the balance, a wrong clock): each one accepted (charged at the sale's time) or written off,
 * with a note. Empty most days.
 */
function reviewPanel(salesChanged: () => void, feed: PageContext['feed'], signal: AbortSignal): HTMLElement {
  const list = h('div', { 'data-test': 'offline-review' });
  const load = (): Promise<boolean> =>
    fill(list, async () => {
      const { items } = await getJson<{ items: HeldSale[] }>('/wallet/review', { status: 'pending' });
      if (items.length === 0) return h('p', { class: 'muted' }, t('canteen.reviewNone'));
      return table(
        [t('common.time'), t('canteen.terminal'), t('canteen.card'), t('canteen.reviewPerson'), t('canteen.amount'), t('canteen.reviewReason'), ''],
        items.map((s) => [
          fmtDateTime(s.occurredAt),
          `${readerName(s.readerId) ?? s.readerId} #${s.seq}`,
          s.uid ?? '',
          s.person ? `${s.person.name} (${s.person.externalId})` : t('canteen.reviewNobody'),
          fmtMoney(s.amountFen),
          codeLabel('reason', s.reason),
          h(
            'span',
            { class: 'actions' },
            s.person ? h('button', { class: 'btn primary', type: 'button', 'data-test': 'review-accept', onclick: () => void decide(s, 'accept') }, t('canteen.reviewAccept')) : null,
            h('button', { class: 'btn', type: 'button', 'data-test': 'review-reject', onclick: () => void decide(s, 'reject') }, t('canteen.reviewReject')),
          ),
        ]),
        { 'data-test': 'offline-review-table' },
      );
    });
  const decide = async (s: HeldSale, decision: 'accept' | 'reject'): Promise<void> => {
    const vars = { amount: fmtMoney(s.amountFen), name: s.person?.name ?? s.uid ?? '' };
    const ok = await confirmDialog({
      title: decision === 'accept' ? t('canteen.reviewAccept') : t('canteen.reviewReject'),
      message: t(decision === 'accept' ? 'canteen.reviewAcceptConfirm' : 'canteen.reviewRejectConfirm', vars),
      confirm: decision === 'accept' ? t('canteen.reviewAccept') : t('canteen.reviewReject'),
      danger: decision === 'reject',
      note: 'required',
      notePlaceholder: t('canteen.reviewNoteNeeded'),
    });
    if (!ok.ok || !ok.note) return;
    try {
      await send('POST', `/wallet/review/${encodeURIComponent(s.readerId)}/${s.seq}`, { decision, note: ok.note });
      toast(t(decision === 'accept' ? 'canteen.reviewAccepted' : 'canteen.reviewRejected'));
      void load();
      salesChanged();
    } catch (err) {
      actionError(err);
    }
  };
  void load();
  // A terminal's upload raises or updates the review alert: the list follows it live, as the alert list does.
  feed.on((_kind, a) => {
    if (a.type === 'wallet_offline_review') void load();
  }, signal);
  return panel(t('canteen.review'), h('p', { class: 'muted small' }, t('canteen.reviewHelp')), list);
}
