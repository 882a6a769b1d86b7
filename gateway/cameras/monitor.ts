import type { CamerasConfig } from '../../config/cameras.js';
import type { Logger } from '../core/logger.js';
import type { CameraMetrics } from './metrics.js';
import { asCameraError, CameraError, PULL_MESSAGE_LIMIT, type CameraConnection, type CameraErrorCode, type CameraNotification, type CameraSession } from './port.js';
import { Backoff } from '../core/pacing.js';

export type CameraState = 'unknown' | 'online' | 'offline';

export interface MonitorHooks {
  onTransition(from: CameraState, to: CameraState, error: CameraError | null): void;
  onNotification(n: CameraNotification): void;
  /** After each good poll; used for routine snapshots. */
  onPollOk?(): void;
}

export interface MonitorStatus {
  state: CameraState;
  since: number | null;
  lastPollAt: number | null;
  lastError: { code: CameraErrorCode; message: string; at: number } | null;
  connection: CameraConnection | null;
  subscription: { active: boolean; until: number | null };
}

/**
 * One camera's life: its own poll timer and event loop, so a camera that hangs, refuses, answers 401 or sends
 * garbage only ever delays itself. Online/offline changes need `offlineAfterFailures` failed polls in a row (or
 * `onlineAfterSuccesses` good ones), so one lost packet does not page anyone. The PullPoint loop runs while the
 * camera is online: it subscribes, pulls, renews before the termination time, and on any failure (reboot,
 * ResourceUnknown, silence past the pull timeout) backs off with jitter and subscribes afresh. Old subscriptions
 * are left to expire: some cameras cancel every subscription on Unsubscribe.
 */
export class CameraMonitor {
  private state: CameraState = 'unknown';
  private since: number | null = null;
  private lastPollAt: number | null = null;
  private lastError: MonitorStatus['lastError'] = null;
  private connection: CameraConnection | null = null;
  private failures = 0;
  private successes = 0;
  private running = false;
  private pollTimer: NodeJS.Timeout | undefined;
  /** Bumped to end an event loop: results of calls still in flight from an older generation are ignored. */
  private eventGen = 0;
  private eventSleep: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private subscribedUntil: number | null = null;
  /** When a PullMessages last came back answered, and the camera's clock offset it carried (null: none). */
  private pullOkAt = 0;
  private pullClockOffsetMs: number | null = null;
  private snapshotInFlight: Promise<Buffer> | null = null;

  constructor(
    readonly id: string,
    private readonly session: CameraSession,
    private readonly cfg: CamerasConfig,
    private readonly hooks: MonitorHooks,
    private readonly metrics: CameraMetrics,
    private readonly log: Logger,
  ) {}

  status(): MonitorStatus {
    return {
      state: this.state,
      since: this.since,
      lastPollAt: this.lastPollAt,
      lastError: this.lastError,
      connection: this.connection,
      subscription: { active: this.subscribedUntil !== null, until: this.subscribedUntil },
    };
  }

  get currentState(): CameraState {
    return this.state;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Spread the first polls so a gateway with many cameras does not call them all in the same millisecond.
    this.pollTimer = setTimeout(() => void this.poll(), Math.floor(Math.random() * Math.min(250, this.cfg.pollIntervalMs)));
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.pollTimer);
    this.stopEvents();
    this.session.close();
  }

  private async poll(): Promise<void> {
    if (!this.running) return;
    try {
      if (!this.connection) {
        const conn = await this.session.connect();
        if (!this.running) return;
        this.connection = conn;
      } else if (Date.now() - this.pullOkAt < this.cfg.pollIntervalMs) {
        // A pull answered since the last poll: an authenticated call, so the camera is up and takes our password,
        // and its answer carried the camera's clock. No request of the poll's own: with a few hundred cameras the
        // health polls were most of what an idle gateway did (issue 23). A camera that stops answering stops
        // answering its pulls too, and the next poll asks it directly.
        if (this.pullClockOffsetMs !== null) this.connection = { ...this.connection, clockOffsetMs: this.pullClockOffsetMs };
      } else {
        const { clockOffsetMs } = await this.session.check();
        if (!this.running) return;
        this.connection = { ...this.connection, clockOffsetMs };
      }
      this.metrics.clockOffset.set({ camera: this.id }, this.connection.clockOffsetMs / 1000);
      this.metrics.polls.inc({ camera: this.id, result: 'ok' });
      this.pollOk();
    } catch (err) {
      if (!this.running) return;
      const e = asCameraError(err);
      this.metrics.polls.inc({ camera: this.id, result: e.code });
      this.pollFailed(e);
    } finally {
      this.lastPollAt = Date.now();
      if (this.running) this.pollTimer = setTimeout(() => void this.poll(), this.cfg.pollIntervalMs);
    }
  }

  private pollOk(): void {
    this.failures = 0;
    this.successes++;
    this.lastError = null;
    if (this.state !== 'online' && (this.state === 'unknown' || this.successes >= this.cfg.onlineAfterSuccesses)) {
      this.transition('online', null);
      this.startEvents();
    }
    try {
      this.hooks.onPollOk?.();
    } catch (err) {
      this.log.error({ err }, 'poll hook failed');
    }
  }

  private pollFailed(e: CameraError): void {
    this.successes = 0;
    this.failures++;
    const repeated = this.lastError?.code === e.code;
    this.lastError = { code: e.code, message: e.message, at: Date.now() };
    // The first failure of a kind at warn, repeats at debug: a dead camera polled every few seconds must not flood the log.
    if (!repeated) this.log.warn({ code: e.code, failures: this.failures }, e.message);
    else this.log.debug({ code: e.code, failures: this.failures }, e.message);
    if (this.state !== 'offline' && this.failures >= this.cfg.offlineAfterFailures) {
      this.stopEvents();
      // Reconnect from scratch when it answers again: it may have rebooted with a new clock, new URIs.
      this.connection = null;
      this.transition('offline', e);
    }
  }

  private transition(to: CameraState, error: CameraError | null): void {
    const from = this.state;
    this.state = to;
    this.since = Date.now();
    this.metrics.up.set({ camera: this.id }, to === 'online' ? 1 : 0);
    this.metrics.transitions.inc({ camera: this.id, state: to });
    this.log.info({ from, to }, `camera ${to}`);
    try {
      this.hooks.onTransition(from, to, error);
    } catch (err) {
      this.log.error({ err }, 'transition hook failed');
    }
  }

  private startEvents(): void {
    const gen = ++this.eventGen;
    void this.eventLoop(gen);
  }

  private stopEvents(): void {
    this.eventGen++;
    this.subscribedUntil = null;
    this.pullOkAt = 0;
    if (this.eventSleep) {
      clearTimeout(this.eventSleep.timer);
      this.eventSleep.resolve();
      this.eventSleep = undefined;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.eventSleep = undefined;
        resolve();
      }, ms);
      this.eventSleep = { timer, resolve };
    });
  }

  private async eventLoop(gen: number): Promise<void> {
    const live = (): boolean => this.running && gen === this.eventGen;
    // Jittered, doubling up to eventRetryMaxMs: cameras cut off by one switch do not all come back in the same second.
    const backoff = new Backoff(this.cfg.eventRetryMinMs, this.cfg.eventRetryMaxMs);
    let subscribed = false;
    let lastFailure: CameraErrorCode | null = null;
    while (live()) {
      try {
        if (!subscribed) {
          const s = await this.session.subscribe();
          if (!live()) return;
          subscribed = true;
          this.subscribedUntil = s.terminationTime;
          this.metrics.subscriptions.inc({ camera: this.id, result: 'created' });
        }
        const started = Date.now();
        const r = await this.session.pull();
        if (!live()) return;
        // Restored once a pull works, not at the subscription: a camera whose every pull failed right after a
        // successful subscribe was asked again each second for ever, with two log lines each time (an attacker review).
        if (lastFailure) this.log.info('event subscription restored');
        lastFailure = null;
        backoff.reset();
        this.pullOkAt = Date.now();
        this.pullClockOffsetMs = r.clockOffsetMs;
        if (r.terminationTime !== null) this.subscribedUntil = r.terminationTime;
        if (r.dropped) this.metrics.dropped.inc({ camera: this.id }, r.dropped);
        if (r.overLimit) this.metrics.overLimit.inc({ camera: this.id }, r.overLimit);
        for (const n of r.notifications) {
          try {
            this.hooks.onNotification(n);
          } catch (err) {
            this.log.error({ err, topic: n.topic }, 'notification handler failed');
          }
        }
        if (this.subscribedUntil !== null && this.subscribedUntil - Date.now() < this.cfg.renewBeforeMs) {
          const s = await this.session.renew();
          if (!live()) return;
          this.subscribedUntil = s.terminationTime;
          this.metrics.subscriptions.inc({ camera: this.id, result: 'renewed' });
        }
        // A camera that ignores the pull Timeout answers at once; do not spin on it.
        if (r.notifications.length === 0 && Date.now() - started < 200) await this.sleep(250);
        // Nor on one that always has more: at most PULL_MESSAGE_LIMIT notifications a second are taken from a camera
        // (what is left waits in its queue). A real camera's events come a few a second at the busiest.
        const spentMs = Date.now() - started;
        const dueMs = (r.notifications.length / PULL_MESSAGE_LIMIT) * 1000;
        if (spentMs < dueMs) await this.sleep(dueMs - spentMs);
      } catch (err) {
        if (!live()) return;
        const e = asCameraError(err);
        if (subscribed) this.metrics.subscriptions.inc({ camera: this.id, result: 'lost' });
        subscribed = false;
        this.subscribedUntil = null;
        if (e.code !== lastFailure) this.log.warn({ code: e.code }, `events: ${e.message}; subscribing again`);
        lastFailure = e.code;
        if (e.code === 'unsupported') return; // no event service: nothing to retry
        await this.sleep(backoff.next());
      }
    }
  }

  /** A JPEG now. Concurrent callers share one request, so an alert storm cannot queue up requests to one camera. */
  async snapshot(): Promise<Buffer> {
    if (!this.running) throw new CameraError('closed', `camera ${this.id} is not monitored`);
    if (this.state === 'offline') throw new CameraError('unreachable', `camera ${this.id} is offline: ${this.lastError?.message ?? ''}`);
    if (!this.snapshotInFlight) {
      this.snapshotInFlight = (async () => {
        if (!this.connection) this.connection = await this.session.connect();
        return this.session.snapshot();
      })().finally(() => {
        this.snapshotInFlight = null;
      });
    }
    return this.snapshotInFlight;
  }

  async gotoPreset(token: string): Promise<void> {
    if (!this.running) throw new CameraError('closed', `camera ${this.id} is not monitored`);
    if (this.state === 'offline') throw new CameraError('unreachable', `camera ${this.id} is offline`);
    if (!this.connection) this.connection = await this.session.connect();
    if (!this.connection.ptz) throw new CameraError('unsupported', `camera ${this.id} has no PTZ service`);
    await this.session.gotoPreset(token);
  }
}
