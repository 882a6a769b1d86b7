/**
 * One live stream per signed-in tab, held by the shell, with alerts and lockdown changes: the nav badge, the
 * critical-alert sound and the lockdown banner work on every page, and the alerts and gates pages listen here
 * instead of opening a second stream for them.
 */
import { ApiError, getJson, openEvents } from './api.js';
import { loadSession } from './session.js';
import { ALERT_KINDS, type Alert, type AlertEventKind } from './types.js';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';
type AlertListener = (kind: AlertEventKind, alert: Alert) => void;

const RETRY_MIN_MS = 3_000;
const RETRY_MAX_MS = 30_000;

export class AlertFeed {
  private source: EventSource | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Set<AlertListener>();
  private readonly lockdownListeners = new Set<() => void>();
  /** Waits between tries after the stream was refused, growing while the gateway does not answer. */
  private retryMs = RETRY_MIN_MS;
  private readonly statusListeners = new Set<(s: LiveStatus, reconnected: boolean) => void>();
  private everOpen = false;
  status: LiveStatus = 'connecting';

  start(): void {
    if (this.source) return;
    const es = openEvents(['alert.', 'lockdown.']);
    this.source = es;
    es.addEventListener('open', () => {
      const reconnected = this.everOpen;
      this.everOpen = true;
      this.retryMs = RETRY_MIN_MS;
      this.setStatus('live', reconnected);
    });
    es.addEventListener('error', () => {
      this.setStatus('reconnecting', false);
      if (es.readyState === EventSource.CLOSED) {
        // The stream was refused: an expired token (401), or a proxy answering for a gateway that is down (502).
        // Check the session, then try again; while the gateway does not answer, keep trying.
        this.source = null;
        this.scheduleRetry();
      }
    });
    es.addEventListener('lockdown.changed', () => {
      for (const fn of this.lockdownListeners) fn();
    });
    for (const kind of ALERT_KINDS) {
      es.addEventListener(kind, (ev) => {
        let alert: Alert;
        try {
          alert = JSON.parse((ev as MessageEvent<string>).data) as Alert;
        } catch {
          return;
        }
        for (const l of this.listeners) l(kind, alert);
      });
    }
  }

  private scheduleRetry(): void {
    this.retry = setTimeout(() => {
      this.retry = null;
      getJson('/auth/me').then(
        () => this.start(),
        (err: unknown) => {
          // 401: the session is over and the app is on its way to the login page.
          if (err instanceof ApiError && err.status === 401) return;
          if (!loadSession()) return;
          this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
          this.scheduleRetry();
        },
      );
    }, this.retryMs);
  }

  stop(): void {
    this.source?.close();
    this.source = null;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.everOpen = false;
    this.retryMs = RETRY_MIN_MS;
    this.setStatus('connecting', false);
  }

  on(fn: AlertListener, signal?: AbortSignal): void {
    this.listeners.add(fn);
    signal?.addEventListener('abort', () => this.listeners.delete(fn));
  }

  /** The lockdown started or ended (the event says little: listeners read GET /lockdown). */
  onLockdown(fn: () => void, signal?: AbortSignal): void {
    this.lockdownListeners.add(fn);
    signal?.addEventListener('abort', () => this.lockdownListeners.delete(fn));
  }

  /** `reconnected` is true after a drop: listeners reload, since events during the gap were missed. */
  onStatus(fn: (s: LiveStatus, reconnected: boolean) => void, signal?: AbortSignal): void {
    this.statusListeners.add(fn);
    signal?.addEventListener('abort', () => this.statusListeners.delete(fn));
  }

  private setStatus(s: LiveStatus, reconnected: boolean): void {
    this.status = s;
    for (const fn of this.statusListeners) fn(s, reconnected);
  }
}

