import { join } from 'node:path';
import type { Router } from 'express';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../module/context.js';
import type { Logger } from '../core/logger.js';
import { GatewayError, notFound } from '../core/errors.js';
import { InFlight } from '../core/in-flight.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { Guards } from '../http/guards.js';
import type { Migration } from '../storage/db.js';
import { CredentialBox } from './credentials.js';
import { CameraMetrics } from './metrics.js';
import { CameraMonitor } from './monitor.js';
import { asCameraError, type CameraDriver, type DiscoveredDevice } from './port.js';
import { CameraRegistry, registryMigrations, type CameraRecord } from './registry.js';
import { cameraRoutes } from './routes.js';
import { CameraEvents } from './events.js';
import { AlertEvidence } from './evidence.js';
import { iso, markRegistered, type CameraView, type DiscoveredCamera } from './view.js';
import { SnapshotStore, snapshotMigrations, type SnapshotMeta, type SnapshotReason } from './snapshots.js';
import { clipMigrations } from './live/clips.js';
import { CameraEventsStore, cameraEventMigrations } from './events-store.js';
import { VideoMetrics } from './live/metrics.js';
import { LiveVideo, type StreamKind } from './live/service.js';
import { videoRoutes } from './live/routes.js';
import { streamUrlOf } from './live/stream-url.js';

export const cameraMigrations: Migration[] = [...registryMigrations, ...snapshotMigrations, ...clipMigrations, ...cameraEventMigrations];

export type { CameraEvent, CameraStateEvent } from './events.js';
export { MAX_EVIDENCE_PER_ALERT } from './evidence.js';
export { markRegistered, type CameraView, type DiscoveredCamera } from './view.js';

/**
 * ONVIF cameras: registry, one monitor per camera (health with hysteresis, PullPoint events), snapshots with
 * retention, event rules (intrusion outside a zone's hours, tamper: events.ts) and evidence for alerts at covered
 * places (evidence.ts).
 */
export class CamerasModule implements GatewayModule {
  readonly name = 'cameras';
  readonly registry: CameraRegistry;
  readonly snapshots: SnapshotStore;
  readonly video: LiveVideo;
  private readonly metrics: CameraMetrics;
  private readonly monitors = new Map<string, CameraMonitor>();
  private readonly events: CameraEvents;
  private readonly evidence: AlertEvidence;
  private readonly lastRoutine = new Map<string, number>();
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  /** Snapshots being taken and stored, and alerts' evidence being gathered: stop() waits for them. */
  private readonly work = new InFlight();
  private offBus: (() => void) | undefined;
  private started = false;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly driver: CameraDriver,
  ) {
    const cfg = ctx.config.cameras;
    this.log = ctx.log.child({ component: 'cameras' });
    this.metrics = new CameraMetrics(ctx.metrics);
    this.registry = new CameraRegistry(ctx.db, cfg, ctx.clock, cfg.secretKey ? new CredentialBox(cfg.secretKey) : null);
    this.snapshots = new SnapshotStore(ctx.db, join(ctx.config.dataDir, 'snapshots'), ctx.clock, cfg.retention);
    this.video = new LiveVideo(cfg, ctx.config.dataDir, ctx.db, ctx.clock, new VideoMetrics(ctx.metrics), this.log.child({ component: 'video' }), {
      url: (id, stream) => this.streamUrl(id, stream),
      preRollCameras: () => this.registry.list().filter((c) => this.keepsClips(c)).map((c) => c.id),
      openAlerts: () => ctx.alerts.unresolvedIds(),
    });
    this.events = new CameraEvents({ bus: ctx.bus, alerts: ctx.alerts, clock: ctx.clock, config: ctx.config, registry: this.registry, metrics: this.metrics, history: new CameraEventsStore(ctx.db), log: new RateLimitedLog(this.log, () => ctx.clock.now()) });
    this.evidence = new AlertEvidence({
      bus: ctx.bus,
      alerts: ctx.alerts,
      registry: this.registry,
      metrics: this.metrics,
      log: this.log,
      stopping: this.stopping.signal,
      work: this.work,
      presetSettleMs: cfg.presetSettleMs,
      monitor: (id) => this.monitors.get(id),
      takeSnapshot: (id, reason, alertId) => this.takeSnapshot(id, reason, alertId),
      clipFor: (id, alertId, eventAt) => this.video.clipFor(id, alertId, eventAt),
      keepsClips: (c) => this.keepsClips(c),
    });
    this.registry.onChange((id, record) => {
      if (!this.started) return;
      this.stopMonitor(id);
      if (record) this.startMonitor(record);
      else {
        this.metrics.forget(id);
        this.events.forget(id);
      }
    });
  }

  start(): void {
    if (this.snapshots.dirWas) this.log.warn({ dir: this.snapshots.dir, was: this.snapshots.dirWas }, 'snapshot directory was open to other users; now 0700');
    const fixed = this.snapshots.reconcile();
    if (fixed.files || fixed.rows || fixed.tightened) this.log.info(fixed, 'snapshot store tidied');
    this.updateStoreMetrics();
    this.started = true;
    for (const c of this.registry.list()) this.startMonitor(c);
    const offs = [
      this.evidence.start(),
      // A camera that came online now has its stream URIs: its pre-roll can start.
      this.ctx.bus.on('camera.state', () => this.video.syncPreRoll()),
    ];
    void this.video.start().catch((err: unknown) => this.log.error({ err }, 'video did not start'));
    this.offBus = () => offs.forEach((off) => off());
  }

  /**
   * Takes no new event or alert, closes the sessions (which fails their requests in flight), and resolves once the
   * clips, snapshots and evidence in flight are settled: the database closes right after the modules stop, and a
   * clip or picture finishing later wrote to it closed ("The database connection is not open").
   */
  async stop(): Promise<void> {
    this.started = false;
    this.offBus?.();
    this.stopping.abort();
    for (const id of [...this.monitors.keys()]) this.stopMonitor(id);
    await this.video.stop();
    await this.work.idle();
  }

  health(): ComponentHealth {
    const states = [...this.monitors.values()].map((m) => m.currentState);
    const online = states.filter((s) => s === 'online').length;
    // An offline camera is an alert for security staff, not a reason to call the gateway unhealthy.
    return { ok: true, detail: `${online}/${states.length} cameras online`, code: 'cameras_online', params: { online, total: states.length } };
  }

  /**
   * Live video as its own /healthz component (`video: ffmpeg not installed`); never unhealthy, since snapshots
   * still work without it.
   */
  readonly videoHealth: GatewayModule = { name: 'video', health: () => ({ ok: true, ...this.video.health() }) };

  routes(api: Router, guards: Guards): void {
    cameraRoutes(api, guards, this);
    videoRoutes(api, guards, this);
  }

  private startMonitor(c: CameraRecord): void {
    const log = this.log.child({ camera: c.id });
    let endpoint;
    try {
      endpoint = this.registry.endpoint(c.id);
    } catch (err) {
      log.error({ err }, `camera ${c.id} cannot be monitored: ${(err as Error).message}`);
      return;
    }
    const session = this.driver.session(endpoint, c.simulated);
    const monitor: CameraMonitor = new CameraMonitor(
      c.id,
      session,
      this.ctx.config.cameras,
      {
        onTransition: (from, to, error) => this.events.onTransition(c.id, from, to, error),
        onNotification: (n) => this.events.onNotification(c.id, n),
        onPollOk: () => this.maybeRoutineSnapshot(c.id),
      },
      this.metrics,
      log,
    );
    this.monitors.set(c.id, monitor);
    monitor.start();
  }

  private stopMonitor(id: string): void {
    const m = this.monitors.get(id);
    if (!m) return;
    m.stop();
    this.monitors.delete(id);
  }

  /** `cameras[].clips`, by default on for a camera that covers an access point or a zone. */
  keepsClips(c: CameraRecord): boolean {
    return c.clips ?? (c.accessPoints.length > 0 || c.zones.length > 0);
  }

  private streamUrl(id: string, stream: StreamKind): string | null {
    if (!this.registry.has(id)) return null;
    const profiles = this.monitors.get(id)?.status().connection?.profiles ?? [];
    return streamUrlOf(profiles, stream, this.registry.get(id).simulated, () => this.registry.endpoint(id));
  }

  private maybeRoutineSnapshot(id: string): void {
    const everyS = this.ctx.config.cameras.snapshotIntervalS;
    if (everyS <= 0) return;
    const now = Date.now();
    if (now - (this.lastRoutine.get(id) ?? 0) < everyS * 1000) return;
    this.lastRoutine.set(id, now);
    void this.takeSnapshot(id, 'routine').catch(() => {});
  }

  private updateStoreMetrics(): void {
    const t = this.snapshots.totals();
    this.metrics.storeBytes.set(t.bytes);
    this.metrics.storeCount.set(t.count);
  }

  /** Takes and stores a snapshot now (the service the Node-RED helper and the API call). */
  takeSnapshot(cameraId: string, reason: SnapshotReason = 'fresh', alertId: string | null = null): Promise<SnapshotMeta> {
    return this.work.track(this.snapshotNow(cameraId, reason, alertId));
  }

  private async snapshotNow(cameraId: string, reason: SnapshotReason, alertId: string | null): Promise<SnapshotMeta> {
    const monitor = this.monitors.get(cameraId);
    if (!monitor) {
      if (this.registry.has(cameraId)) throw new GatewayError('unavailable', `camera ${cameraId} is not monitored (check its credentials)`);
      throw notFound(`camera ${cameraId}`);
    }
    let jpeg: Buffer;
    try {
      jpeg = await monitor.snapshot();
    } catch (err) {
      const e = asCameraError(err);
      this.metrics.snapshots.inc({ camera: cameraId, result: e.code });
      throw new GatewayError('camera_error', `camera ${cameraId}: ${e.message}`, e.code === 'timeout' ? 504 : 502);
    }
    // A picture that came back as the cameras stop is not stored: nothing new is recorded once stop() has begun.
    if (this.stopping.signal.aborted) throw new GatewayError('unavailable', `camera ${cameraId}: the cameras are stopping`, 503);
    const meta = await this.snapshots.save(cameraId, jpeg, reason, alertId);
    this.metrics.snapshots.inc({ camera: cameraId, result: 'ok' });
    this.updateStoreMetrics();
    return meta;
  }

  async recallPreset(cameraId: string, preset: string): Promise<{ preset: string; token: string }> {
    const cam = this.registry.get(cameraId);
    const token = cam.presets[preset];
    if (token === undefined) throw notFound(`preset ${preset} on camera ${cameraId}`);
    const monitor = this.monitors.get(cameraId);
    if (!monitor) throw new GatewayError('unavailable', `camera ${cameraId} is not monitored`);
    try {
      await monitor.gotoPreset(token);
    } catch (err) {
      const e = asCameraError(err);
      throw new GatewayError('camera_error', `camera ${cameraId}: ${e.message}`, e.code === 'unsupported' ? 409 : e.code === 'timeout' ? 504 : 502);
    }
    return { preset, token };
  }

  view(id: string): CameraView {
    const cam = this.registry.get(id);
    const st = this.monitors.get(id)?.status();
    const conn = st?.connection ?? null;
    return {
      ...cam,
      hasPassword: this.registry.hasPassword(id),
      state: st?.state ?? 'unknown',
      since: iso(st?.since ?? null),
      lastPollAt: iso(st?.lastPollAt ?? null),
      lastError: st?.lastError ? { code: st.lastError.code, message: st.lastError.message, at: new Date(st.lastError.at).toISOString() } : null,
      device: conn?.device ?? null,
      clockOffsetMs: conn?.clockOffsetMs ?? null,
      streams: conn?.profiles ?? [],
      snapshotSupported: Boolean(conn?.snapshotUri),
      ptz: conn?.ptz ?? false,
      subscription: { active: st?.subscription.active ?? false, until: iso(st?.subscription.until ?? null) },
      lastEvent: this.events.last(id),
      latestSnapshotId: this.snapshots.latest(id)?.id ?? null,
      video: this.video.status(id),
      keepsClips: this.keepsClips(cam),
    };
  }

  /** Every camera's state, for the console and the API. */
  states(): CameraView[] {
    return this.registry.list().map((c) => this.view(c.id));
  }

  async discover(): Promise<DiscoveredCamera[]> {
    const d = this.ctx.config.cameras.discovery;
    let devices: DiscoveredDevice[];
    try {
      devices = await this.driver.discover({
        ...d,
        onInvalid: (from, reason) => {
          this.metrics.discoveryInvalid.inc();
          this.log.debug({ from, reason }, 'ignored a WS-Discovery reply');
        },
      });
    } catch (err) {
      throw new GatewayError('camera_error', asCameraError(err).message, 502);
    }
    return markRegistered(devices, this.registry.list());
  }
}
