/**
 * One live alert stream per signed-in tab, held by the shell: the nav badge and the critical-alert sound
 * work on every page, and the alerts page listens here instead of opening a second stream.
 */
import { getJson, openEvents } from './api.js';
import { ALERT_KINDS, type Alert, type AlertEventKind } from './types.js';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';
type AlertListener = (kind: AlertEventKind, alert: Alert) => void;

export class AlertFeed {
  private source: EventSource | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Set<AlertListener>();
  private readonly statusListeners = new Set<(s: LiveStatus, reconnected: boolean) => void>();
  private everOpen = false;
  status: LiveStatus = 'connecting';

  start(): void {
    if (this.source) return;
    const es = openEvents(['alert.']);
    this.source = es;
    es.addEventListener('open', () => {
      const reconnected = this.everOpen;
      this.everOpen = true;
      this.setStatus('live', reconnected);
    });
    es.addEventListener('error', () => {
      this.setStatus('reconnecting', false);
      if (es.readyState === EventSource.CLOSED) {
        // The server refused the stream (an expired token answers 401): check the session, then try again.
        this.source = null;
        this.retry = setTimeout(() => {
          this.retry = null;
          getJson('/auth/me').then(() => this.start(), () => {});
        }, 3000);
      }
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

  stop(): void {
    this.source?.close();
    this.source = null;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.everOpen = false;
  }

  on(fn: AlertListener, signal?: AbortSignal): void {
    this.listeners.add(fn);
    signal?.addEventListener('abort', () => this.listeners.delete(fn));
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

