/** Sign in with a gateway user; the token lives in sessionStorage for this tab only. */
import { ApiError, send } from '../api.js';
import { h, replace } from '../dom.js';
import { LANGS, lang, setLang, t, type Lang } from '../i18n/index.js';
import type { Page } from '../router.js';
import { isRole, saveSession } from '../session.js';
import { unlock } from '../sound.js';

interface LoginAnswer {
  token: string;
  role: string;
  username: string;
  expiresAt: string;
  school?: { timezone?: string };
}

export const loginPage: Page = ({ root, query, navigate }) => {
  const error = h('p', { class: 'form-error', role: 'alert', 'data-test': 'login-error' });
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn primary', 'data-test': 'login-submit' }, t('login.submit'));
  const onSubmit = async (e: Event): Promise<void> => {
    e.preventDefault();
    unlock(); // this click is the gesture that lets the alarm sound play later
    submit.disabled = true;
    error.textContent = '';
    try {
      const a = await send<LoginAnswer>('POST', '/auth/login', { username: username.value.trim(), password: password.value }, { auth: false });
      if (!isRole(a.role)) throw new ApiError(500, 'internal', a.role);
      const timezone = a.school?.timezone;
      saveSession({ token: a.token, username: a.username, role: a.role, expiresAt: a.expiresAt, ...(timezone ? { timezone } : {}) });
      const next = query.get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/alerts');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) error.textContent = t('login.wrong');
      else if (err instanceof ApiError && err.status === 429) error.textContent = t('login.rateLimited');
      else error.textContent = t('common.offline');
      submit.disabled = false;
      password.select();
    }
  };
  replace(
    root,
    h(
      'form',
      { class: 'login', onsubmit: (e: Event) => void onSubmit(e) },
      h('h1', {}, t('app.title')),
      query.get('expired') === '1' ? h('p', { class: 'form-error', role: 'alert', 'data-test': 'login-expired' }, t('login.expired')) : null,
      h('p', { class: 'muted' }, t('login.intro')),
      h('label', {}, t('login.username'), username),
      h('label', {}, t('login.password'), password),
      error,
      submit,
      h(
        'div',
        { class: 'login-langs' },
        ...LANGS.map((l: Lang) =>
          h('button', { type: 'button', class: `link ${l === lang() ? 'active' : ''}`, 'data-test': `lang-${l}`, onclick: () => setLang(l) }, t(`lang.${l}`)),
        ),
      ),
    ),
  );
};
