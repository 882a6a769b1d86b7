/**
 * A person's cards with what the desk may do about them: 挂失 (report lost) an active card, and take back a lost
 * one that turned up (POST /cards/:uid/lost, /unblock; admin and security). A parent on the phone knows the child,
 * not the card number: the desk finds the child by the person search and reports the card here.
 */
import { getJson, send } from './api.js';
import { asList, str, type Json } from './data.js';
import { h } from './dom.js';
import { t } from './i18n/index.js';
import { can, type Role } from './session.js';
import { badge, codeLabel, confirmDialog, empty, fill, latestOnly, runAction } from './ui.js';

export function personCards(role: Role): { el: HTMLElement; show: (person: { id: number; name: string }) => void } {
  const el = h('div', { class: 'person-cards', 'data-test': 'person-cards' });
  const ask = latestOnly();
  const show = (person: { id: number; name: string }): void => {
    if (!can.reportLost(role)) return;
    void fill(el, async () => {
      const cards = asList(await getJson<unknown>(`/people/${person.id}`), 'cards');
      return cards.length ? cards.map((c) => line(person, c, () => show(person))) : [empty(t('cards.none'))];
    }, ask());
  };
  return { el, show };
}

function line(person: { name: string }, c: Json, again: () => void): HTMLElement {
  const uid = str(c, 'uid') ?? '';
  const status = str(c, 'status') ?? '';
  const act = async (lost: boolean): Promise<void> => {
    const r = await confirmDialog({
      title: lost ? t('cards.reportLost') : t('cards.found'),
      message: t(lost ? 'cards.reportLostWarning' : 'cards.foundWarning', { name: person.name, uid }),
      confirm: lost ? t('cards.reportLost') : t('cards.found'),
      danger: lost,
      note: true,
      noteMax: 500,
    });
    if (!r.ok) return;
    const path = `/cards/${encodeURIComponent(uid)}/${lost ? 'lost' : 'unblock'}`;
    await runAction(() => send('POST', path, r.note ? { note: r.note } : {}), lost ? t('cards.reportedLost') : t('cards.unblocked'), again);
  };
  return h(
    'div',
    { class: 'card-line', 'data-test': 'person-card', 'data-uid': uid, 'data-status': status },
    h('code', {}, uid),
    badge(codeLabel('cardStatus', status), `card-${status}`),
    status === 'active' ? h('button', { class: 'btn small danger card-action', 'data-test': 'card-lost', onclick: () => void act(true) }, t('cards.reportLost')) : null,
    status === 'lost' ? h('button', { class: 'btn small card-action', 'data-test': 'card-found', onclick: () => void act(false) }, t('cards.found')) : null,
  );
}
