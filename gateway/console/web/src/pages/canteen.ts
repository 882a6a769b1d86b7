/** Canteen: today's sales for everyone; a person's balance and history (security, admin); top-up (admin). */
import { getJson, send } from '../api.js';
import { h, replace } from '../dom.js';
import { fmtDateTime, fmtMoney, t } from '../i18n/index.js';
import { parseYuan } from '../money.js';
import type { Page } from '../router.js';
import { can } from '../session.js';
import { actionError, codeLabel, confirmDialog, fill, pageHeader, panel, stat, table, toast } from '../ui.js';

interface Sales {
  date: string;
  count: number;
  grossFen: number;
  refundsFen: number;
  netFen: number;
  buyers: number;
  byTerminal: { readerId: string; count: number; sumFen: number }[];
  byHour: { hour: number; count: number; sumFen: number }[];
}

interface Entry {
  id: number;
  kind: string;
  amountFen: number;
  reason: string | null;
  actor: string;
  readerId: string | null;
  occurredAt: string;
}

interface Account {
  person: { id: number; externalId: string; name: string; grade: string | null; class: string | null };
  balanceFen: number;
  entries: Entry[];
}

export const canteenPage: Page = ({ root, session, query, navigate }) => {
  // No date asked: the gateway's today in the school's time zone, which the browser's clock may not share.
  const date = h('input', { type: 'date', value: query.get('date') ?? '', 'data-test': 'sales-date', onchange: () => void loadSales() });
  const sales = h('div', { 'data-test': 'sales' });
  const loadSales = (): Promise<boolean> =>
    fill(sales, async () => {
      const s = await getJson<Sales>('/wallet/sales', { date: date.value || undefined });
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
        table([t('canteen.terminal'), t('canteen.count'), t('canteen.gross')], s.byTerminal.map((x) => [x.readerId, x.count, fmtMoney(x.sumFen)])),
      ];
    });

  const sections: HTMLElement[] = [panel(t('canteen.sales'), h('div', { class: 'filters' }, h('label', {}, t('common.date'), date)), sales)];

  if (can.handleAlerts(session.role)) {
    const person = h('input', { name: 'externalId', placeholder: t('canteen.personPlaceholder'), value: query.get('person') ?? '', 'data-test': 'wallet-person' });
    const account = h('div', { 'data-test': 'wallet-account' });
    const loadAccount = (): Promise<boolean> =>
      fill(account, async () => {
        const id = person.value.trim();
        const a = await getJson<Account>(`/wallet/${encodeURIComponent(id)}`, { limit: 50 });
        const who = [a.person.name, a.person.grade, a.person.class].filter(Boolean).join(' · ');
        return [
          h('div', { class: 'stats' }, stat(who || a.person.externalId, fmtMoney(a.balanceFen), 'ok')),
          can.topUp(session.role) ? topUpForm(a, () => void loadAccount()) : null,
          h('h3', {}, t('canteen.history')),
          table(
            [t('common.time'), t('canteen.kind'), t('canteen.amount'), t('canteen.reason'), t('canteen.terminal')],
            a.entries.map((e) => [
              fmtDateTime(e.occurredAt),
              codeLabel('entryKind', e.kind),
              h('span', { class: e.amountFen < 0 ? 'neg' : 'pos' }, fmtMoney(e.amountFen)),
              e.reason ?? '',
              e.readerId ?? e.actor,
            ]),
          ),
        ];
      });
    const form = h(
      'form',
      {
        class: 'filters',
        onsubmit: (e: Event) => {
          e.preventDefault();
          if (!person.value.trim()) return;
          navigate(`/canteen?person=${encodeURIComponent(person.value.trim())}`);
        },
      },
      h('label', {}, t('canteen.person'), person),
      h('button', { class: 'btn primary', type: 'submit', 'data-test': 'wallet-lookup' }, t('common.show')),
    );
    sections.push(panel(t('canteen.account'), form, account));
    if (person.value.trim()) void loadAccount();
  }

  replace(root, pageHeader(t('canteen.title')), ...sections);
  void loadSales();
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
    try {
      await send('POST', `/wallet/${encodeURIComponent(a.person.externalId)}/topup`, { amountFen: fen, reason: reason.value.trim() });
      toast(t('canteen.toppedUp'));
      reload();
    } catch (err) {
      actionError(err);
    }
  };
  return h(
    'form',
    { class: 'filters topup', onsubmit: (e: Event) => void submit(e) },
    h('label', {}, t('canteen.amount'), amount),
    h('label', {}, t('canteen.reason'), reason),
    h('button', { class: 'btn primary', type: 'submit', 'data-test': 'topup' }, t('canteen.topUp')),
  );
}
