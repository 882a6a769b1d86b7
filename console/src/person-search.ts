/**
 * The one search box for people (attendance, canteen, gates): a name, pinyin initials, a student number, a class or
 * a card number in any printed form (GET /people/search). Suggestions appear while typing; Enter takes the person
 * when the text names one, lists the candidates when it names several, and says plainly when it names no one.
 */
import { getJson } from './api.js';
import { h, replace } from './dom.js';
import { t } from './i18n/index.js';
import { errorText } from './server-text.js';
import { codeLabel } from './ui.js';

export interface PersonHit {
  id: number;
  externalId: string;
  name: string;
  grade: string | null;
  class: string | null;
  matchedBy: string;
}

/** Typing pauses this long before the gateway is asked, so a name typed quickly is one request, not five. */
const TYPING_PAUSE_MS = 200;

export function findPeople(q: string, limit = 8): Promise<PersonHit[]> {
  return getJson<{ items: PersonHit[] }>('/people/search', { q, limit }).then((r) => r.items);
}

/** The text names this person outright: their number, or the one hit there is. */
function onlyOne(q: string, hits: PersonHit[]): PersonHit | undefined {
  const exact = hits.find((p) => p.externalId.toLowerCase() === q.toLowerCase());
  if (exact) return exact;
  if (hits.length === 1) return hits[0];
  const sameName = hits.filter((p) => p.name === q);
  return sameName.length === 1 ? sameName[0] : undefined;
}

export function personSearch(opts: { value?: string; test: string; onPick: (p: PersonHit) => void }): HTMLFormElement {
  const input = h('input', {
    type: 'search',
    autocomplete: 'off',
    maxlength: 64,
    value: opts.value ?? '',
    placeholder: t('search.placeholder'),
    'aria-label': t('search.label'),
    'data-test': `${opts.test}-input`,
  });
  const list = h('ul', { class: 'suggestions', role: 'listbox', 'data-test': `${opts.test}-suggestions` });
  const message = h('p', { class: 'muted small', role: 'status', 'data-test': `${opts.test}-message` });
  let asked = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const pick = (p: PersonHit): void => {
    replace(list);
    replace(message);
    input.value = p.externalId;
    opts.onPick(p);
  };
  const show = (hits: PersonHit[]): void =>
    replace(
      list,
      ...hits.map((p) =>
        h(
          'li',
          { role: 'option' },
          h(
            'button',
            { type: 'button', class: 'suggestion', 'data-test': 'suggestion', 'data-id': p.externalId, onclick: () => pick(p) },
            h('strong', {}, p.name),
            ' ',
            h('span', { class: 'muted small' }, [p.grade, p.class, p.externalId].filter(Boolean).join(' · ')),
            ' ',
            h('span', { class: 'muted small' }, codeLabel('searchBy', p.matchedBy)),
          ),
        ),
      ),
    );
  /** Asks the gateway; answers to an older question than the last one are dropped. */
  const ask = async (q: string): Promise<PersonHit[] | undefined> => {
    const mine = ++asked;
    try {
      const hits = await findPeople(q);
      return mine === asked ? hits : undefined;
    } catch (err) {
      if (mine === asked) message.textContent = errorText(err);
      return undefined;
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    replace(message);
    const q = input.value.trim();
    if (!q) {
      asked++;
      replace(list);
      return;
    }
    timer = setTimeout(() => void ask(q).then((hits) => hits && show(hits)), TYPING_PAUSE_MS);
  });

  const form = h(
    'form',
    {
      class: 'filters person-search',
      'data-test': opts.test,
      onsubmit: (e: Event) => {
        e.preventDefault();
        clearTimeout(timer);
        const q = input.value.trim();
        if (!q) return;
        void ask(q).then((hits) => {
          if (!hits) return;
          const one = onlyOne(q, hits);
          if (one) return pick(one);
          show(hits);
          message.textContent = hits.length === 0 ? t('search.none', { q }) : t('search.pick', { n: hits.length });
        });
      },
    },
    h('label', {}, t('search.label'), input),
    h('button', { class: 'btn primary', type: 'submit', 'data-test': `${opts.test}-go` }, t('common.show')),
    message,
    list,
  );
  return form;
}
