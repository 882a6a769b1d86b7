/** Pieces every page uses: headings, loading / error / not-available states, a confirmation dialog. */
import { ApiError } from './api.js';
import { append, h, replace, type Child } from './dom.js';
import { t, tKnown } from './i18n/index.js';

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
  const detail = err instanceof Error ? err.message : String(err);
  return h('div', { class: 'state error', 'data-state': 'error' }, h('strong', {}, t('common.failed')), h('p', { class: 'muted' }, detail));
}

/** Fills `target` with what `load` renders, showing loading and error states around it. */
export async function fill(target: HTMLElement, load: () => Promise<Child | Child[]>): Promise<boolean> {
  if (!target.firstChild) replace(target, loading());
  try {
    const out = await load();
    replace(target, ...(Array.isArray(out) ? out : [out]));
    return true;
  } catch (err) {
    replace(target, errorState(err));
    return false;
  }
}

export function table(headers: string[], rows: Child[][], attrs: Record<string, string> = {}): HTMLElement {
  if (rows.length === 0) return empty();
  return h(
    'div',
    { class: 'table-wrap' },
    h('table', attrs, h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', {}, x)))), h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c)))))),
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
export function confirmDialog(opts: { title: string; message?: string; confirm: string; danger?: boolean; note?: boolean; notePlaceholder?: string }): Promise<ConfirmResult> {
  return new Promise((resolve) => {
    const note = opts.note ? h('textarea', { name: 'note', rows: 3, maxlength: 1000, placeholder: opts.notePlaceholder ?? t('common.notePlaceholder') }) : null;
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

export function actionError(err: unknown): void {
  toast(err instanceof ApiError ? `${t('common.failed')}: ${err.message}` : t('common.failed'), 'error');
}

