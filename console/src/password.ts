/**
 * The signed-in user's own password change (POST /auth/password). The gateway checks everything again; the form
 * catches a mistyped repeat before it costs one of the login rate limit's attempts.
 */
import { ApiError, send } from './api.js';
import { append, h } from './dom.js';
import { t } from './i18n/index.js';
import { actionError, toast } from './ui.js';

const field = (name: string, label: string, autocomplete: string): [HTMLLabelElement, HTMLInputElement] => {
  const input = h('input', { type: 'password', name, required: true, maxlength: 256, autocomplete, 'data-test': `password-${name}` });
  return [h('label', { class: 'field' }, label, input), input];
};

export function changePasswordDialog(): void {
  const [currentLabel, current] = field('current', t('password.current'), 'current-password');
  const [nextLabel, next] = field('new', t('password.new'), 'new-password');
  const [repeatLabel, repeat] = field('repeat', t('password.repeat'), 'new-password');
  next.minLength = 8;
  const problem = h('p', { class: 'form-error', role: 'alert', 'data-test': 'password-problem' });
  const dialog = h('dialog', { class: 'dialog' });
  const close = (): void => {
    dialog.close();
    dialog.remove();
  };
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (next.value !== repeat.value) {
      problem.textContent = t('password.mismatch');
      return;
    }
    try {
      await send('POST', '/auth/password', { currentPassword: current.value, newPassword: next.value });
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) problem.textContent = t('password.wrongCurrent');
      else if (err instanceof ApiError && err.status === 400) problem.textContent = t('password.weak');
      else actionError(err);
      return;
    }
    close();
    toast(t('password.changed'));
  };
  append(
    dialog,
    h(
      'form',
      { method: 'dialog', onsubmit: (e: Event) => void submit(e) },
      h('h2', {}, t('password.change')),
      currentLabel,
      nextLabel,
      repeatLabel,
      problem,
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: close }, t('common.cancel')),
        h('button', { type: 'submit', class: 'btn primary', 'data-test': 'password-save' }, t('password.change')),
      ),
    ),
  );
  dialog.addEventListener('cancel', close);
  document.body.append(dialog);
  dialog.showModal();
  current.focus();
}
