/** Pieces every page uses: headings, loading / error / not-available states, a confirmation dialog. */
import { ApiError } from './api.js';
import { append, h, replace, type Child } from './dom.js';
import { t, tKnown } from './i18n/index.js';
import { fmtClock } from './time.js';
import { readThrough } from './lastgood.js';
import { errorText } from './server-text.js';

export function pageHeader(title: string, ...actions: Child[]): HTMLElement {
  return h('header', { class: 'page-header' }, h('h1', {}, title), h('div', { class: 'actions' }, ...actions));
}

export function panel(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'panel' }, h('h2', {}, title), ...children);
}

export function loading(): HTMLElement {
  return h('p', { class: 'muted loading' }, t('common.loading'));
}

export function empty(text = t('common.empty')): HTMLElement {
  return h('p', { class: 'muted empty' }, text);
}

/** What a failed call looks like to the user: a missing module is "not available", not a crash. */
export function errorState(err: unknown): HTMLElement {
  if (err instanceof ApiError && err.unavailable) {
    return h('div', { class: 'state unavailable', 'data-state': 'unavailable' }, h('strong', {}, t('common.notAvailable')), h('p', {}, t('common.notAvailableHint')));
  }
  if (err instanceof ApiError && err.status === 403) return h('div', { class: 'state error' }, t('common.forbidden'));
  if (err instanceof ApiError && err.status === 0) return h('div', { class: 'state error' }, t('common.offline'));
  const sent = err instanceof Error ? err.message : String(err);
  return h('div', { class: 'state error', 'data-state': 'error' }, h('strong', {}, t('common.failed')), h('p', { class: 'muted', title: sent }, errorText(err)));
}

/**
 * Fills `target` with what `load` renders, showing loading and error states around it. `current`: false once a later
 * fill of the same target was asked for, whose answer must not be overwritten by this late one (two people picked in
 * turn, the first answer arriving last, showed the first one's cards under the second's name).
 */
export async function fill(target: HTMLElement, load: () => Promise<Child | Child[]>, current: () => boolean = () => true): Promise<boolean> {
  if (!target.firstChild) replace(target, loading());
  try {
    const out = await load();
    if (!current()) return false;
    replace(target, ...(Array.isArray(out) ? out : [out]));
    return true;
  } catch (err) {
    if (current()) replace(target, errorState(err));
    return false;
  }
}

/** For fill's `current`: each call of the returned function starts a new question and returns its own check. */
export function latestOnly(): () => () => boolean {
  let asked = 0;
  return () => {
    const mine = ++asked;
    return () => mine === asked;
  };
}

/**
 * One notice per page while it shows data kept from before the gateway stopped answering: "connection lost,
 * showing data from 10:42". Each part of the page marks itself stale (with how current it is) or live again.
 */
export class StaleNotice {
  readonly el: HTMLElement = h('div', { class: 'stale-notice', role: 'status', 'data-test': 'stale', hidden: true });
  private readonly parts = new Map<string, number>();

  /** `at`: when the part's data was last known current; null when the part is current again. */
  mark(part: string, at: number | null): void {
    if (at === null) this.parts.delete(part);
    else this.parts.set(part, at);
    this.el.hidden = this.parts.size === 0;
    replace(this.el, this.parts.size ? t('common.staleSince', { at: fmtClock(Math.min(...this.parts.values())) }) : '');
  }

  get stale(): boolean {
    return this.parts.size > 0;
  }
}

/**
 * Like `fill`, for data a page refreshes from the gateway: when the gateway does not answer, what is on screen
 * stays (or the last answer is drawn, after a re-render) and the page's notice says from when; an error only
 * when there is nothing to show. `key` names the data (its path and query).
 */
export async function fillFrom<T>(target: HTMLElement, notice: StaleNotice, key: string, load: () => Promise<T>, render: (value: T) => Child | Child[]): Promise<boolean> {
  if (!target.firstChild) replace(target, loading());
  try {
    const answer = await readThrough(key, load);
    notice.mark(key, answer.stale ? answer.at : null);
    // Kept data already on screen stays as it is (loaded pictures, scroll position).
    if (answer.stale && target.dataset.shows === key) return false;
    const out = render(answer.value);
    replace(target, ...(Array.isArray(out) ? out : [out]));
    target.dataset.shows = key;
    return !answer.stale;
  } catch (err) {
    notice.mark(key, null);
    replace(target, errorState(err));
    delete target.dataset.shows;
    return false;
  }
}

export function table(headers: string[], rows: Child[][], attrs: Record<string, string> = {}): HTMLElement {
  if (rows.length === 0) return empty();
  return h(
    'div',
    { class: 'table-wrap' },
    h('table', attrs, h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))), h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c, i) => h('td', { 'data-label': headers[i] ?? '' }, c)))))),
  );
}

export function badge(text: string, kind: string): HTMLElement {
  return h('span', { class: `badge ${kind}` }, text);
}

/** A reason or state code shown in the user's language when the dictionary knows it, else as sent. */
export function codeLabel(prefix: string, code: string): string {
  return tKnown(`${prefix}.${code}`) ?? code;
}

export function stat(label: string, value: Child, kind = ''): HTMLElement {
  return h('div', { class: `stat ${kind}` }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label));
}

export interface ConfirmResult {
  ok: boolean;
  note: string;
}

/** A modal confirmation, optionally asking for a note (acknowledge, resolve, lockdown). */
/** `note: 'required'`: the dialog does not close without one (the browser says so at the field). */
export function confirmDialog(opts: {
  title: string;
  message?: string;
  confirm: string;
  danger?: boolean;
  note?: boolean | 'required';
  notePlaceholder?: string;
  /** The API's limit for the note (default 1000). */
  noteMax?: number;
}): Promise<ConfirmResult> {
  return new Promise((resolve) => {
    const required = opts.note === 'required';
    const note = opts.note
      ? h('textarea', { name: 'note', rows: 3, maxlength: opts.noteMax ?? 1000, required, placeholder: opts.notePlaceholder ?? t(required ? 'common.noteRequiredPlaceholder' : 'common.notePlaceholder') })
      : null;
    // `required` takes spaces for a note, and the trimmed note was then empty: the dialog closed and nothing was done.
    const blank = (): void => note?.setCustomValidity(required && note.value.trim() === '' && note.value !== '' ? t('common.noteRequiredBlank') : '');
    note?.addEventListener('input', blank);
    const dialog = h('dialog', { class: 'dialog' });
    const done = (ok: boolean): void => {
      dialog.close();
      dialog.remove();
      resolve({ ok, note: note?.value.trim() ?? '' });
    };
    append(
      dialog,
      h(
        'form',
        { method: 'dialog', onsubmit: (e: Event) => (e.preventDefault(), done(true)) },
        h('h2', {}, opts.title),
        opts.message ? h('p', {}, opts.message) : null,
        note,
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { type: 'button', class: 'btn', onclick: () => done(false) }, t('common.cancel')),
          h('button', { type: 'submit', class: `btn ${opts.danger ? 'danger' : 'primary'}`, 'data-test': 'confirm' }, opts.confirm),
        ),
      ),
    );
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    (note ?? dialog.querySelector<HTMLButtonElement>('button[type=submit]'))?.focus();
  });
}

/** A short message at the bottom of the screen (saved, failed). */
export function toast(text: string, kind: 'ok' | 'error' = 'ok'): void {
  const el = h('div', { class: `toast ${kind}`, role: 'status' }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), 4000);
}

/** A refused or failed action, in the user's language (the gateway's own text only for a code the console does not know). */
export function actionError(err: unknown): void {
  toast(err instanceof ApiError ? t('common.failedWith', { reason: errorText(err) }) : t('common.failed'), 'error');
}

/**
 * Sends an action the user asked for: on success says `done` and runs `then` (a reload), on failure says why
 * (actionError). One place for what every form's submit does after its own checks.
 */
export async function runAction(action: () => Promise<unknown>, done: string, then?: () => void): Promise<boolean> {
  try {
    await action();
  } catch (err) {
    actionError(err);
    return false;
  }
  toast(done);
  then?.();
  return true;
}

/**
 * A page's filter form: labelled fields and a Show button; submitting (the button or Enter in a field) calls `go`,
 * which puts the filters in the address so the view can be bookmarked and shared.
 */
export function filterForm(go: () => void, ...fields: [label: string, field: HTMLElement][]): HTMLFormElement {
  return h(
    'form',
    { class: 'filters', onsubmit: (e: Event) => (e.preventDefault(), go()) },
    ...fields.map(([label, field]) => h('label', {}, label, field)),
    h('button', { class: 'btn primary', type: 'submit' }, t('common.show')),
  );
}
