/**
 * The lockdown as the shell knows it, for the banner every page shows and the Gates page's switch: read from
 * GET /lockdown at sign-in, after every `lockdown.changed` on the shell's stream and after a dropped stream (a
 * change during the gap was missed). While the gateway does not answer, the last known state stays.
 */
import { getJson, isConnectionError } from './api.js';
import { bool, str, type Json } from './data.js';
import { h, replace } from './dom.js';
import { t } from './i18n/index.js';
import { fmtDateTime } from './time.js';

export interface LockdownState {
  active: boolean;
  reason: string | null;
  startedBy: string | null;
  startedAt: string | null;
}

export class LockdownWatch {
  /** null until the gateway first answered (or when it has no access module). */
  state: LockdownState | null = null;
  /** When `state` was read (epoch ms). */
  at = 0;
  /** Why the last read failed (the Gates page shows it), or null. */
  error: unknown = null;
  private readonly listeners = new Set<() => void>();
  private asked = 0;

  /** Reads the state; overlapping reads settle in order, the last asked wins. */
  async refresh(): Promise<void> {
    const n = ++this.asked;
    try {
      const s = await getJson<Json>('/lockdown');
      if (n !== this.asked) return;
      this.state = {
        active: bool(s, 'active') ?? false,
        reason: str(s, 'reason') ?? null,
        startedBy: str(s, 'startedBy') ?? null,
        startedAt: str(s, 'startedAt') ?? null,
      };
      this.at = Date.now();
      this.error = null;
    } catch (err) {
      if (n !== this.asked) return;
      // Not answering is not "no lockdown": the last known state stays on screen.
      if (!isConnectionError(err)) this.state = null;
      this.error = err;
    }
    for (const fn of this.listeners) fn();
  }

  on(fn: () => void, signal?: AbortSignal): void {
    this.listeners.add(fn);
    signal?.addEventListener('abort', () => this.listeners.delete(fn));
  }

  /** The gateway did not answer the last read: `state` is the one read at `at`. */
  get stale(): boolean {
    return this.state !== null && isConnectionError(this.error);
  }

  reset(): void {
    this.asked++;
    this.state = null;
    this.at = 0;
    this.error = null;
  }

  /** The red banner at the top of every page while a lockdown is on; kept current until `signal` aborts. */
  banner(signal: AbortSignal, canEnd: boolean): HTMLElement {
    const el = h('div', { class: 'lockdown-banner', role: 'status', 'data-test': 'lockdown-banner' });
    const render = (): void => {
      const s = this.state;
      el.hidden = !s?.active;
      if (!s?.active) {
        replace(el);
        return;
      }
      replace(
        el,
        h('strong', {}, t('gates.lockdownActive')),
        h(
          'span',
          { class: 'small' },
          s.startedBy ? t('gates.lockdownSince', { user: s.startedBy, at: fmtDateTime(s.startedAt ?? '') }) : '',
          s.reason ? ` — ${s.reason}` : '',
        ),
        // Where to end it, said as such to whoever may (a walkthrough read the page's name and looked for the button).
        h('a', { href: '/gates', 'data-link': '', 'data-test': 'lockdown-banner-link' }, canEnd ? t('gates.endLockdown') : t('nav.gates')),
      );
    };
    render();
    this.on(render, signal);
    return el;
  }
}
