/** Path routes (`/cameras/cam-1`) with the History API; the gateway answers index.html for any page path. */
import type { AlertFeed } from './live.js';
import type { LockdownWatch } from './lockdown.js';
import type { Session } from './session.js';

export interface PageContext {
  root: HTMLElement;
  params: Record<string, string>;
  query: URLSearchParams;
  session: Session;
  /** The shell's live stream (alerts, lockdown changes). */
  feed: AlertFeed;
  /** The lockdown as the shell knows it (the banner on every page). */
  lockdown: LockdownWatch;
  /** Aborted when the user leaves the page: pages stop their timers and streams on it. */
  signal: AbortSignal;
  every(ms: number, fn: () => void): void;
  navigate(path: string): void;
}

export type Page = (ctx: PageContext) => void | Promise<void>;

export interface Route {
  path: string;
  page: Page;
}

interface Compiled {
  re: RegExp;
  keys: string[];
  route: Route;
}

export class Router {
  private readonly compiled: Compiled[];

  constructor(
    routes: Route[],
    private readonly onRoute: (route: Route | null, params: Record<string, string>, path: string) => void,
  ) {
    this.compiled = routes.map((route) => {
      const keys: string[] = [];
      const src = route.path.replace(/:(\w+)/g, (_m, k: string) => {
        keys.push(k);
        return '([^/]+)';
      });
      return { re: new RegExp(`^${src}/?$`), keys, route };
    });
    window.addEventListener('popstate', () => this.resolve());
    // Same-origin links marked data-link stay in the app instead of reloading it.
    document.addEventListener('click', (e) => {
      const a = (e.target as Element | null)?.closest?.('a[data-link]');
      if (!(a instanceof HTMLAnchorElement) || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      this.navigate(a.pathname + a.search);
    });
  }

  navigate(path: string): void {
    if (path !== location.pathname + location.search) history.pushState(null, '', path);
    this.resolve();
  }

  resolve(): void {
    const path = location.pathname;
    for (const c of this.compiled) {
      const m = c.re.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      c.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1] ?? '')));
      this.onRoute(c.route, params, path);
      return;
    }
    this.onRoute(null, {}, path);
  }
}
