/** The console's entry: the shell (navigation, language, user, lockdown banner), the routes, and the live feed. */
import { getJson, send, setUnauthorizedHandler } from './api.js';
import { h, replace } from './dom.js';
import { LANGS, lang, onLangChange, setLang, t, type Lang, type MessageKey } from './i18n/index.js';
import { forgetAll } from './lastgood.js';
import { AlertFeed } from './live.js';
import { LockdownWatch } from './lockdown.js';
import { forgetNames } from './names.js';
import { changePasswordDialog } from './password.js';
import { alertsPage } from './pages/alerts.js';
import { attendancePage } from './pages/attendance.js';
import { cameraPage } from './pages/camera.js';
import { camerasPage } from './pages/cameras.js';
import { canteenPage } from './pages/canteen.js';
import { mapPage } from './pages/map.js';
import { environmentPage } from './pages/environment.js';
import { timelinePage } from './pages/timeline.js';
import { gatesPage } from './pages/gates.js';
import { loginPage } from './pages/login.js';
import { notificationsPage } from './pages/notifications.js';
import { systemPage } from './pages/system.js';
import { Router, type Page, type Route } from './router.js';
import { can, clearSession, loadSession, saveSession, sessionEnded, type Session } from './session.js';
import { playAlarm, setSoundEnabled, soundEnabled } from './sound.js';
import { browserZoneDiffers, fmtClock, schoolTimeZone, setSchoolTimeZone } from './time.js';
import type { AlertPage } from './types.js';

/** The pages in the navigation, in its order; their routes come from here too, so a page is named once. */
const NAV: { path: string; label: MessageKey; test: string; page: Page; adminOnly?: boolean }[] = [
  { path: '/alerts', label: 'nav.alerts', test: 'nav-alerts', page: alertsPage },
  { path: '/cameras', label: 'nav.cameras', test: 'nav-cameras', page: camerasPage },
  { path: '/gates', label: 'nav.gates', test: 'nav-gates', page: gatesPage },
  { path: '/timeline', label: 'nav.timeline', test: 'nav-timeline', page: timelinePage },
  { path: '/attendance', label: 'nav.attendance', test: 'nav-attendance', page: attendancePage },
  { path: '/canteen', label: 'nav.canteen', test: 'nav-canteen', page: canteenPage },
  { path: '/environment', label: 'nav.environment', test: 'nav-environment', page: environmentPage },
  { path: '/map', label: 'nav.map', test: 'nav-map', page: mapPage },
  { path: '/system', label: 'nav.system', test: 'nav-system', page: systemPage },
  { path: '/notifications', label: 'nav.notifications', test: 'nav-notifications', page: notificationsPage, adminOnly: true },
];

const notFoundPage: Page = ({ root }) => {
  replace(root, h('div', { class: 'state' }, h('h1', {}, t('common.pageNotFound')), h('a', { href: '/alerts', 'data-link': '' }, t('nav.alerts'))));
};

const routes: Route[] = [
  { path: '/login', page: loginPage },
  { path: '/cameras/:id', page: cameraPage },
  ...NAV.map(({ path, page }) => ({ path, page })),
];

const appRoot = document.getElementById('app') ?? document.body;
const feed = new AlertFeed();
const lockdown = new LockdownWatch();
let signedIn = false;
let pageController: AbortController | null = null;
let openCount = 0;

function langSwitcher(): HTMLElement {
  const select = h(
    'select',
    { 'aria-label': t('common.language'), 'data-test': 'lang', onchange: (e: Event) => setLang((e.target as HTMLSelectElement).value as Lang) },
    ...LANGS.map((l) => h('option', { value: l, selected: l === lang() }, t(`lang.${l}`))),
  );
  return select;
}

function shell(session: Session, path: string): HTMLElement {
  const main = h('main', { id: 'page', class: 'page' });
  const liveDot = h('span', { class: `live-dot ${feed.status}`, title: t(`live.${feed.status}`), 'data-test': 'live' }, t(`live.${feed.status}`));
  const countBadge = h('span', { class: 'nav-count', 'data-test': 'open-count', hidden: openCount === 0 }, String(openCount));
  const sound = h(
    'button',
    { class: 'btn small', 'data-test': 'sound', 'aria-pressed': String(soundEnabled()), onclick: () => (setSoundEnabled(!soundEnabled()), renderCurrent()) },
    soundEnabled() ? t('sound.on') : t('sound.off'),
  );
  const nav = h(
    'nav',
    { class: 'nav' },
    ...NAV.filter((n) => !n.adminOnly || session.role === 'admin').map((n) =>
      h(
        'a',
        { href: n.path, 'data-link': '', 'data-test': n.test, class: path.startsWith(n.path) ? 'active' : '' },
        t(n.label),
        n.path === '/alerts' ? countBadge : null,
      ),
    ),
  );
  // On a phone the menu is folded behind one button (CSS shows the button below 600 px only).
  const menu = h(
    'button',
    {
      class: 'btn small menu-toggle',
      'data-test': 'menu',
      'aria-expanded': 'false',
      onclick: () => menu.setAttribute('aria-expanded', String(header.classList.toggle('nav-open'))),
    },
    t('common.menu'),
  );
  const header: HTMLElement = h(
    'header',
    { class: 'topbar' },
    h('a', { class: 'brand', href: '/alerts', 'data-link': '' }, t('app.title')),
    menu,
    nav,
    h(
      'div',
      { class: 'topbar-right' },
      liveDot,
      browserZoneDiffers() ? h('span', { class: 'school-tz muted small', 'data-test': 'school-tz', title: t('common.schoolTimeHint') }, t('common.schoolTime', { tz: schoolTimeZone() ?? '' })) : null,
      sound,
      langSwitcher(),
      expiring(session),
      h('button', { class: 'btn small', 'data-test': 'user', title: t('password.change'), onclick: changePasswordDialog }, `${session.username} · ${t(`role.${session.role}`)}`),
      h('button', { class: 'btn small', 'data-test': 'logout', onclick: logout }, t('common.logout')),
    ),
  );
  // A guard on any page must see that the school is in lockdown.
  const banner = lockdown.banner(pageController!.signal, can.lockdown(session.role));
  const wrap = h('div', { class: 'shell' }, h('div', { class: 'shell-top' }, header, banner), main);
  feed.onStatus((s) => {
    liveDot.className = `live-dot ${s}`;
    liveDot.textContent = t(`live.${s}`);
  }, pageController?.signal);
  return wrap;
}

/** How long before a session ends the top bar says so: a guard can sign in again before the screen goes to the login. */
const EXPIRY_WARNING_MS = 10 * 60_000;

function expiring(session: Session): HTMLElement | null {
  const until = Date.parse(session.expiresAt);
  if (until - Date.now() > EXPIRY_WARNING_MS) return null;
  return h('span', { class: 'session-expiring', role: 'status', 'data-test': 'session-expiring' }, t('session.expiring', { at: fmtClock(until) }));
}

/** A session saved before the gateway said its zone: ask once, then draw the page again in school time. */
async function learnSchoolZone(session: Session): Promise<void> {
  try {
    const me = await getJson<{ school?: { timezone?: string } }>('/auth/me');
    const timezone = me.school?.timezone;
    if (!timezone) return;
    saveSession({ ...session, timezone });
    renderCurrent();
  } catch {
    return;
  }
}

async function refreshOpenCount(): Promise<void> {
  try {
    const page = await getJson<AlertPage>('/alerts', { status: 'open', limit: 500 });
    openCount = page.items.length;
  } catch {
    return;
  }
  const el = document.querySelector<HTMLElement>('[data-test=open-count]');
  if (el) {
    el.textContent = String(openCount);
    el.hidden = openCount === 0;
  }
}

async function logout(): Promise<void> {
  await send('POST', '/auth/logout').catch(() => {});
  clearSession();
  signOut();
  router.navigate('/login');
}

/** Nothing of one user's session (stream, kept answers, names) outlives it in the tab. */
function signOut(): void {
  feed.stop();
  lockdown.reset();
  forgetAll();
  forgetNames();
  signedIn = false;
}

let lastRoute: Route | null = null;
let lastParams: Record<string, string> = {};

function render(route: Route | null, params: Record<string, string>, path: string): void {
  lastRoute = route;
  lastParams = params;
  pageController?.abort();
  const controller = new AbortController();
  pageController = controller;
  const session = loadSession();
  if (route?.path === '/login' || !session) {
    signOut();
    if (route?.path !== '/login') {
      // A guard-room screen whose session ran out says so, instead of a bare login form.
      const ended = sessionEnded() ? '&expired=1' : '';
      history.replaceState(null, '', `/login?next=${encodeURIComponent(path === '/' ? '/alerts' : location.pathname + location.search)}${ended}`);
    }
    const root = h('div', { class: 'login-wrap' });
    replace(appRoot, root);
    void loginPage(context(root, {}, controller, session));
    return;
  }
  if (path === '/') {
    history.replaceState(null, '', '/alerts');
    router.resolve();
    return;
  }
  setSchoolTimeZone(session.timezone);
  feed.start();
  if (!signedIn) {
    signedIn = true;
    void lockdown.refresh();
    if (!session.timezone) void learnSchoolZone(session);
  }
  const frame = shell(session, path);
  replace(appRoot, frame);
  // Drawn again when the expiry warning is due, and when the session has ended (to the login page, saying why).
  const left = Date.parse(session.expiresAt) - Date.now();
  for (const at of [left - EXPIRY_WARNING_MS, left + 1000]) {
    if (at <= 0 || at > 2 ** 31 - 1) continue;
    const id = setTimeout(renderCurrent, at);
    controller.signal.addEventListener('abort', () => clearTimeout(id));
  }
  const root = frame.querySelector<HTMLElement>('#page')!;
  const page = route?.page ?? notFoundPage;
  Promise.resolve(page(context(root, params, controller, session))).catch((err: unknown) => {
    replace(root, h('div', { class: 'state error' }, t('common.failed'), h('pre', {}, String(err))));
  });
}

function context(root: HTMLElement, params: Record<string, string>, controller: AbortController, session: Session | null) {
  return {
    root,
    params,
    query: new URLSearchParams(location.search),
    // The login page is the only one without a session; it never reads this.
    session: session ?? { token: '', username: '', role: 'viewer' as const, expiresAt: '' },
    feed,
    lockdown,
    signal: controller.signal,
    every(ms: number, fn: () => void) {
      const id = setInterval(fn, ms);
      controller.signal.addEventListener('abort', () => clearInterval(id));
    },
    navigate: (p: string) => router.navigate(p),
  };
}

function renderCurrent(): void {
  render(lastRoute, lastParams, location.pathname);
}

const router = new Router(routes, render);
setUnauthorizedHandler(() => {
  if (location.pathname !== '/login') router.navigate(`/login?next=${encodeURIComponent(location.pathname)}&expired=1`);
});
onLangChange(renderCurrent);
feed.on((kind, alert) => {
  if (kind === 'alert.raised' && alert.severity === 'critical') playAlarm();
  void refreshOpenCount();
});
feed.onStatus((s) => {
  if (s !== 'live') return;
  void refreshOpenCount();
  // Also after a drop: a lockdown started or ended during the gap was missed.
  void lockdown.refresh();
});
feed.onLockdown(() => void lockdown.refresh());
router.resolve();
