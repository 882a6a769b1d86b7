import { join } from 'node:path';
import { stableName } from '../core/localized-name.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { Router } from 'express';
import type { Alert } from '../alerts/alerts.js';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../module/context.js';
import type { Logger } from '../core/logger.js';
import { GatewayError, notFound } from '../core/errors.js';
import type { Guards } from '../http/guards.js';
import type { Migration } from '../storage/db.js';
import { CredentialBox } from './credentials.js';
import { CameraMetrics } from './metrics.js';
import { CameraMonitor, type CameraState } from './monitor.js';
import { asCameraError, CameraError, type CameraDriver, type CameraNotification, type DeviceInfo, type DiscoveredDevice, type MediaProfile } from './port.js';
import { CameraRegistry, registryMigrations, type CameraRecord } from './registry.js';
import { cameraRoutes } from './routes.js';
import { classifyNotification, withinWindows, type CameraEventKind } from './rules.js';
import { SnapshotStore, snapshotMigrations, type SnapshotMeta, type SnapshotReason } from './snapshots.js';
import { clipMigrations } from './live/clips.js';
import { CameraEventsStore, cameraEventMigrations } from './events-store.js';
import { VideoMetrics } from './live/metrics.js';
import { LiveVideo, type StreamKind, type VideoStatus } from './live/service.js';
import { videoRoutes } from './live/routes.js';
import { streamUrlOf } from './live/stream-url.js';

export const cameraMigrations: Migration[] = [...registryMigrations, ...snapshotMigrations, ...clipMigrations, ...cameraEventMigrations];

export interface CameraStateEvent {
  cameraId: string;
  state: CameraState;
  previous: CameraState;
  at: string;
  reason: string | null;
}

export interface CameraEvent {
  cameraId: string;
  kind: CameraEventKind;
  active: boolean;
  topic: string;
  operation: CameraNotification['operation'];
  at: string;
  zones: string[];
  accessPoints: string[];
  data: Record<string, string>;
  /**
   * The zones in which this event raises the gateway's own `intrusion` alert (motion or a crossing outside a
   * zone's hours). A flow that alerts on night motion (the default after-hours flow) skips these: one movement,
   * one alert.
   */
  intrusionZones: string[];
}

/** Pictures kept as one alert's evidence; later recurrences only count. */
export const MAX_EVIDENCE_PER_ALERT = 12;

declare module '../core/bus.js' {
  interface CampusEventMap {
    'camera.state': CameraStateEvent;
    'camera.event': CameraEvent;
  }
}

/** What the API and the console show of a camera. Never a password. */
export interface CameraView extends CameraRecord {
  hasPassword: boolean;
  state: CameraState;
  since: string | null;
  lastPollAt: string | null;
  lastError: { code: string; message: string; at: string } | null;
  device: DeviceInfo | null;
  clockOffsetMs: number | null;
  streams: MediaProfile[];
  snapshotSupported: boolean;
  ptz: boolean;
  subscription: { active: boolean; until: string | null };
  lastEvent: { kind: CameraEventKind; active: boolean; topic: string; at: string } | null;
  latestSnapshotId: string | null;
  /** Live video of the main stream (`no video`: the RTSP pull fails, whatever ONVIF says). */
  video: VideoStatus;
  /** Whether it keeps a pre-roll, so alerts it covers get clips. */
  keepsClips: boolean;
}

export interface DiscoveredCamera extends DiscoveredDevice {
  registered: boolean;
  cameraId: string | null;
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
/** Where an alert points the cameras. */
const placeOf = (alert: Alert): string => `${alert.accessPoint ?? ''}|${alert.zone ?? ''}`;

/**
 * ONVIF cameras: registry, one monitor per camera (health with hysteresis, PullPoint events), snapshots with
 * retention, event rules (intrusion outside a zone's hours, tamper) and evidence for alerts at covered places.
 */
export class CamerasModule implements GatewayModule {
  readonly name = 'cameras';
  readonly registry: CameraRegistry;
  readonly snapshots: SnapshotStore;
  readonly video: LiveVideo;
  /** Occurrences kept for the timeline (gateway/timeline). */
  readonly events: CameraEventsStore;
  private readonly metrics: CameraMetrics;
  private readonly monitors = new Map<string, CameraMonitor>();
  private readonly lastEvents = new Map<string, NonNullable<CameraView['lastEvent']>>();
  private readonly lastRoutine = new Map<string, number>();
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private offBus: (() => void) | undefined;
  /** Alerts given evidence, and the place it was taken for. */
  private readonly evidencePlaces = new Map<string, string>();
  /** How many occurrences of each alert have had their pictures taken: every recurrence gets its own. */
  private readonly evidenceCounts = new Map<string, number>();
  /** Alerts whose pictures, and whose clips, are being taken now. */
  private readonly gathering = new Set<string>();
  private readonly clipping = new Set<string>();
  private started = false;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly driver: CameraDriver,
  ) {
    const cfg = ctx.config.cameras;
    this.log = ctx.log.child({ component: 'cameras' });
    this.metrics = new CameraMetrics(ctx.metrics);
    this.registry = new CameraRegistry(ctx.db, cfg, ctx.clock, cfg.secretKey ? new CredentialBox(cfg.secretKey) : null);
    this.events = new CameraEventsStore(ctx.db);
    this.snapshots = new SnapshotStore(ctx.db, join(ctx.config.dataDir, 'snapshots'), ctx.clock, cfg.retention);
    this.video = new LiveVideo(cfg, ctx.config.dataDir, ctx.db, ctx.clock, new VideoMetrics(ctx.metrics), this.log.child({ component: 'video' }), {
      url: (id, stream) => this.streamUrl(id, stream),
      preRollCameras: () => this.registry.list().filter((c) => this.keepsClips(c)).map((c) => c.id),
    });
    this.registry.onChange((id, record) => {
      if (!this.started) return;
      this.stopMonitor(id);
      if (record) this.startMonitor(record);
      else {
        this.metrics.forget(id);
        this.lastEvents.delete(id);
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
      this.ctx.bus.on('alert.raised', (alert) => this.onAlert(alert)),
      // A repeat somewhere else (the lost card now used in the canteen) needs that place's picture too.
      this.ctx.bus.on('alert.updated', (alert) => {
        if (!this.evidencePlaces.has(alert.id)) return;
        // A recurrence (the lost card used again) is new evidence even at the same place.
        if (this.evidencePlaces.get(alert.id) !== placeOf(alert) || alert.count > (this.evidenceCounts.get(alert.id) ?? alert.count)) this.onAlert(alert);
      }),
      this.ctx.bus.on('alert.resolved', (alert) => {
        this.evidencePlaces.delete(alert.id);
        this.evidenceCounts.delete(alert.id);
      }),
      // A camera that came online now has its stream URIs: its pre-roll can start.
      this.ctx.bus.on('camera.state', () => this.video.syncPreRoll()),
    ];
    void this.video.start().catch((err: unknown) => this.log.error({ err }, 'video did not start'));
    this.offBus = () => offs.forEach((off) => off());
  }

  stop(): void {
    this.started = false;
    this.offBus?.();
    this.stopping.abort();
    this.video.stop();
    for (const id of [...this.monitors.keys()]) this.stopMonitor(id);
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
  readonly videoHealth: GatewayModule = { name: 'video', health: () => ({ ok: true, detail: this.video.health() }) };

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
        onTransition: (from, to, error) => this.onTransition(c.id, from, to, error),
        onNotification: (n) => this.onNotification(c.id, n),
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

  private onTransition(id: string, from: CameraState, to: CameraState, error: CameraError | null): void {
    const cam = this.registry.get(id);
    this.ctx.bus.emit('camera.state', {
      cameraId: id,
      state: to,
      previous: from,
      at: new Date(this.ctx.clock.now()).toISOString(),
      reason: error?.message ?? null,
    });
    const key = `camera_offline:${id}`;
    if (to === 'offline') {
      this.ctx.alerts.raise({
        type: 'camera_offline',
        severity: 'warning',
        source: `camera:${id}`,
        message: `Camera ${stableName(cam.name, id)} (${id}) is offline: ${error?.message ?? 'no answer'}`,
        dedupKey: key,
        data: { cameraId: id, code: error?.code ?? null },
      });
    } else if (to === 'online' && from === 'offline') {
      this.ctx.alerts.resolveByKey(key, 'gateway', 'the camera answers again');
    }
  }

  private onNotification(id: string, n: CameraNotification): void {
    const cam = this.registry.get(id);
    const { kind, active } = classifyNotification(n);
    const nowMs = this.ctx.clock.now();
    const at = new Date(nowMs).toISOString();
    this.metrics.events.inc({ camera: id, kind });
    this.lastEvents.set(id, { kind, active, topic: n.topic, at });
    const alerting = active && n.operation !== 'Initialized' && (kind === 'motion' || kind === 'line_crossing' || kind === 'field_crossing');
    const schedules = this.ctx.config.cameras.zoneSchedules;
    const intrusionZones = alerting
      ? cam.zones.filter((zone) => {
          const windows = schedules[zone];
          return windows !== undefined && !withinWindows(windows, nowMs, this.ctx.config.school.timezone);
        })
      : [];
    this.ctx.bus.emit('camera.event', {
      cameraId: id,
      kind,
      active,
      topic: n.topic,
      operation: n.operation,
      at,
      zones: cam.zones,
      accessPoints: cam.accessPoints,
      data: n.data,
      intrusionZones,
    });
    // `Initialized` tells the state at (re)subscription, after every reboot: not something that just happened.
    if (!active || n.operation === 'Initialized') return;
    this.events.record({ at: nowMs, cameraId: id, kind, topic: n.topic, accessPoints: cam.accessPoints, zones: cam.zones });
    if (kind === 'tamper') {
      this.ctx.alerts.raise({
        type: 'camera_tamper',
        severity: 'critical',
        source: `camera:${id}`,
        message: `Camera ${stableName(cam.name, id)} (${id}) reports tampering (${n.topic})`,
        zone: cam.zones[0],
        accessPoint: cam.accessPoints[0],
        dedupKey: `camera_tamper:${id}`,
        data: { cameraId: id, topic: n.topic },
      });
      return;
    }
    for (const zone of intrusionZones) {
      this.ctx.alerts.raise({
        type: 'intrusion',
        severity: 'critical',
        source: `camera:${id}`,
        message: `${kind === 'motion' ? 'Motion' : 'Crossing'} in ${zone} outside its hours (camera ${stableName(cam.name, id)})`,
        zone,
        dedupKey: `intrusion:${zone}`,
        data: { cameraId: id, kind, topic: n.topic },
      });
    }
  }

  /** Evidence: the covering cameras' pictures, a preset named after the place recalled first. */
  private onAlert(alert: Alert): void {
    if (!alert.accessPoint && !alert.zone) return;
    // One set of pictures (and one clip) per alert at a time: a card tapped twenty times a second must not start a
    // snapshot and a clip for each tap before the first have come back; the next recurrence after them takes the next.
    if (this.gathering.has(alert.id)) return;
    this.evidencePlaces.delete(alert.id);
    this.evidencePlaces.set(alert.id, placeOf(alert));
    this.evidenceCounts.set(alert.id, alert.count);
    // Bounded: alerts nobody resolves must not grow it for ever.
    if (this.evidencePlaces.size > 1000) {
      const oldest = this.evidencePlaces.keys().next().value!;
      this.evidencePlaces.delete(oldest);
      this.evidenceCounts.delete(oldest);
    }
    // A card used again and again must not fill the disk with one alert's pictures.
    if (alert.snapshotIds.length >= MAX_EVIDENCE_PER_ALERT) return;
    const cams = this.registry.covering(alert.accessPoint, alert.zone).slice(0, 3);
    // The event happened now (the pre-roll runs on the wall clock, whatever clock the alerts use).
    const eventAt = Date.now();
    const pictures: Promise<unknown>[] = [];
    const clips: Promise<unknown>[] = [];
    const clipNow = !this.clipping.has(alert.id);
    for (const cam of cams) {
      if (clipNow && this.keepsClips(cam)) clips.push(this.collectClip(alert, cam.id, eventAt));
      pictures.push(this.collectEvidence(alert, cam).catch((err: unknown) => {
        this.metrics.evidence.inc({ result: 'failed' });
        this.log.warn({ alert: alert.id, camera: cam.id, err: (err as Error).message }, 'no evidence snapshot');
      }));
    }
    // A clip spans the post-roll (seconds): pictures of a recurrence elsewhere meanwhile must not wait for it.
    const hold = (set: Set<string>, jobs: Promise<unknown>[]): void => {
      if (jobs.length === 0) return;
      set.add(alert.id);
      void Promise.allSettled(jobs).then(() => set.delete(alert.id));
    };
    hold(this.gathering, pictures);
    hold(this.clipping, clips);
  }

  private async collectEvidence(alert: Alert, cam: CameraRecord): Promise<void> {
    const monitor = this.monitors.get(cam.id);
    if (!monitor || monitor.currentState === 'offline') {
      this.metrics.evidence.inc({ result: 'skipped_offline' });
      return;
    }
    const preset = (alert.accessPoint && cam.presets[alert.accessPoint]) || (alert.zone && cam.presets[alert.zone]) || null;
    if (preset) {
      try {
        await monitor.gotoPreset(preset);
        await delay(this.ctx.config.cameras.presetSettleMs, undefined, { signal: this.stopping.signal });
      } catch (err) {
        if (this.stopping.signal.aborted) return;
        // A picture from the current position is still evidence.
        this.log.warn({ camera: cam.id, preset, err: (err as Error).message }, 'preset recall failed');
      }
    }
    if (this.stopping.signal.aborted) return;
    const snap = await this.takeSnapshot(cam.id, 'evidence', alert.id);
    this.ctx.alerts.attachSnapshot(alert.id, snap.id);
    this.metrics.evidence.inc({ result: 'attached' });
  }

  private async collectClip(alert: Alert, cameraId: string, eventAt: number): Promise<void> {
    try {
      const clip = await this.video.clipFor(cameraId, alert.id, eventAt);
      if (this.stopping.signal.aborted) return;
      this.ctx.alerts.attachClip(alert.id, clip.id);
    } catch (err) {
      this.log.warn({ alert: alert.id, camera: cameraId, err: (err as Error).message }, 'no evidence clip');
    }
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
  async takeSnapshot(cameraId: string, reason: SnapshotReason = 'fresh', alertId: string | null = null): Promise<SnapshotMeta> {
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
      lastEvent: this.lastEvents.get(id) ?? null,
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

/** Which discovered devices are already registered (same host, and same port when the device tells it). */
export function markRegistered(devices: DiscoveredDevice[], cameras: Pick<CameraRecord, 'id' | 'host' | 'port'>[]): DiscoveredCamera[] {
  return devices.map((d) => {
    const cam = cameras.find((c) => (c.host === d.host || c.host === d.address) && (d.port === null || d.port === c.port));
    return { ...d, registered: Boolean(cam), cameraId: cam?.id ?? null };
  });
}
