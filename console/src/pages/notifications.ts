/**
 * Guardians' messages (admin): the delivery log with its filters, and with a student chosen, their guardians (numbers
 * masked), consent with its history, and a switch to change it.
 */
import { getJson, send } from '../api.js';
import { asList, bool, num, str, type Json } from '../data.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n/index.js';
import { fmtDateTime } from '../time.js';
import type { Page } from '../router.js';
import { actionError, badge, codeLabel, fill, filterForm, pageHeader, panel, table, toast } from '../ui.js';

const EVENTS = ['arrival', 'departure', 'absent', 'late', 'low_balance', 'card_lost', 'emergency', 'test'] as const;
const STATUSES = ['queued', 'sent', 'failed', 'expired', 'suppressed'] as const;

const select = (name: string, values: readonly string[], current: string | null, label: (v: string) => string): HTMLSelectElement =>
  h('select', { name, 'data-test': `notify-${name}` }, h('option', { value: '' }, t('notify.all')), ...values.map((v) => h('option', { value: v, selected: v === current }, label(v))));

export const notificationsPage: Page = ({ root, query, navigate }) => {
  const person = h('input', { name: 'person', placeholder: t('notify.personPlaceholder'), value: query.get('person') ?? '', 'data-test': 'notify-person' });
  const event = select('event', EVENTS, query.get('event'), (v) => codeLabel('notifyEvent', v));
  const status = select('status', STATUSES, query.get('status'), (v) => codeLabel('notifyStatus', v));
  const channel = h('input', { name: 'channel', placeholder: t('notify.channel'), value: query.get('channel') ?? '', 'data-test': 'notify-channel' });
  const go = (): void => {
    const q = new URLSearchParams();
    for (const el of [person, event, status, channel]) if (el.value.trim()) q.set(el.name, el.value.trim());
    navigate(`/notifications?${q.toString()}`);
  };
  const log = h('div', { 'data-test': 'notify-log' });
  const guardians = h('div', { 'data-test': 'notify-guardians' });
  const who = query.get('person');

  replace(
    root,
    pageHeader(t('notify.title')),
    filterForm(go, [t('notify.person'), person], [t('notify.event'), event], [t('notify.status'), status], [t('notify.channel'), channel]),
    who ? panel(t('notify.guardians'), guardians) : null,
    panel(t('notify.log'), log),
  );

  const load = (): void => {
    void fill(log, async () => {
      const q: Record<string, string> = { limit: '200' };
      for (const k of ['person', 'event', 'status', 'channel']) if (query.get(k)) q[k] = query.get(k)!;
      const items = asList(await getJson<Json>('/notifications', q), 'items');
      return table(
        [t('common.time'), t('notify.event'), t('notify.person'), t('notify.to'), t('notify.channel'), t('notify.status'), t('notify.reason')],
        items.map((i) => [
          fmtDateTime(str(i, 'sentAt') ?? str(i, 'createdAt') ?? ''),
          codeLabel('notifyEvent', str(i, 'event') ?? ''),
          str(i, 'externalId') ? h('a', { href: `/notifications?person=${encodeURIComponent(str(i, 'externalId') ?? '')}`, 'data-link': '' }, str(i, 'externalId') ?? '') : '—',
          str(i, 'to') ?? '—',
          str(i, 'channel') ?? '',
          badge(codeLabel('notifyStatus', str(i, 'status') ?? ''), `notify-${str(i, 'status') ?? ''}`),
          str(i, 'reason') ? codeLabel('notifyReason', str(i, 'reason') ?? '') : '',
        ]),
        { 'data-test': 'notify-table' },
      );
    });
  };
  load();

  if (who) {
    const loadGuardians = (): void => {
      void fill(guardians, async () => {
        const g = await getJson<Json>(`/people/${encodeURIComponent(who)}/guardians`);
        const list = asList(g, 'guardians');
        const history = asList(g, 'consentHistory');
        const toggle = (x: Json) => async (): Promise<void> => {
          try {
            await send('PUT', `/people/${encodeURIComponent(who)}/guardians/${num(x, 'id') ?? 0}/consent`, { consent: !bool(x, 'consent') });
            toast(t('notify.consentChanged'));
            loadGuardians();
          } catch (err) {
            actionError(err);
          }
        };
        const test = (x: Json) => async (): Promise<void> => {
          try {
            await send('POST', '/notifications/test', { externalId: who, guardianId: num(x, 'id') ?? 0 });
            toast(t('notify.testQueued'));
            load();
          } catch (err) {
            actionError(err);
          }
        };
        return [
          list.length
            ? table(
                [t('notify.guardianName'), t('notify.relation'), t('notify.to'), t('notify.language'), t('notify.consent'), ''],
                list.map((x) => [
                  str(x, 'name') ?? '',
                  str(x, 'relation') ?? '—',
                  str(x, 'phone') ?? '',
                  t(`lang.${str(x, 'language') === 'ko' ? 'ko' : str(x, 'language') === 'en' ? 'en' : 'zh'}`),
                  bool(x, 'consent') ? badge(t('notify.consentYes'), 'ok') : badge(t('notify.consentNo'), 'muted'),
                  h(
                    'span',
                    {},
                    h('button', { class: 'btn small', 'data-test': 'notify-consent-toggle', onclick: toggle(x) }, bool(x, 'consent') ? t('notify.withdraw') : t('notify.grant')),
                    ' ',
                    h('button', { class: 'btn small', 'data-test': 'notify-send-test', onclick: test(x) }, t('notify.sendTest')),
                  ),
                ]),
              )
            : h('p', { class: 'muted' }, t('notify.noGuardians')),
          history.length
            ? h(
                'div',
                {},
                h('h3', {}, t('notify.history')),
                table(
                  [t('common.time'), t('notify.guardianName'), t('notify.consent'), t('notify.by')],
                  history.map((c) => [
                    fmtDateTime(str(c, 'at') ?? ''),
                    str(list.find((x) => num(x, 'id') === num(c, 'guardianId')), 'name') ?? String(num(c, 'guardianId') ?? ''),
                    bool(c, 'consent') ? t('notify.consentYes') : t('notify.consentNo'),
                    str(c, 'by') ?? '',
                  ]),
                ),
              )
            : null,
        ];
      });
    };
    loadGuardians();
  }
};
