/**
 * What a camera's monitor reports, turned into the gateway's own events: state changes (`camera.state`, with the
 * `camera_offline` alert) and ONVIF notifications (`camera.event`, with the `camera_tamper` and `intrusion`
 * alerts for motion or a crossing outside a zone's hours).
 */
import type { AlertService } from '../alerts/alerts.js';
import type { EventBus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { RateLimitedLog } from '../core/rate-limited-log.js';
import type { GatewayConfig } from '../../config/schema.js';
import type { CameraMetrics } from './metrics.js';
import type { CameraState } from './monitor.js';
import type { CameraError, CameraEventKind, CameraNotification } from './port.js';
import type { CameraRegistry } from './registry.js';
import { withinWindows } from './rules.js';
import { stableName } from '../core/localized-name.js';
import type { CameraEventsStore } from './events-store.js';

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

declare module '../core/bus.js' {
  interface CampusEventMap {
    'camera.state': CameraStateEvent;
    'camera.event': CameraEvent;
  }
}

export interface LastCameraEvent {
  kind: CameraEventKind;
  active: boolean;
  topic: string;
  at: string;
}

export interface CameraEventsDeps {
  bus: EventBus;
  alerts: AlertService;
  clock: Clock;
  config: Pick<GatewayConfig, 'cameras' | 'school'>;
  registry: CameraRegistry;
  metrics: CameraMetrics;
  /** Occurrences kept for the timeline (gateway/timeline). */
  history: Pick<CameraEventsStore, 'record'>;
  /** Writes the database refused (a full disk), once a minute each. */
  log: Pick<RateLimitedLog, 'error'>;
}

export class CameraEvents {
  private readonly lastEvents = new Map<string, LastCameraEvent>();

  constructor(private readonly deps: CameraEventsDeps) {}

  /** The camera's latest notification, for its view. */
  last(id: string): LastCameraEvent | null {
    return this.lastEvents.get(id) ?? null;
  }

  forget(id: string): void {
    this.lastEvents.delete(id);
  }

  onTransition(id: string, from: CameraState, to: CameraState, error: CameraError | null): void {
    const { bus, alerts, clock, registry } = this.deps;
    const cam = registry.get(id);
    bus.emit('camera.state', {
      cameraId: id,
      state: to,
      previous: from,
      at: new Date(clock.now()).toISOString(),
      reason: error?.message ?? null,
    });
    const key = `camera_offline:${id}`;
    if (to === 'offline') {
      alerts.tryRaise({
        type: 'camera_offline',
        severity: 'warning',
        source: `camera:${id}`,
        message: `Camera ${stableName(cam.name, id)} (${id}) is offline: ${error?.message ?? 'no answer'}`,
        dedupKey: key,
        data: { cameraId: id, code: error?.code ?? null },
      });
    } else if (to === 'online' && from === 'offline') {
      alerts.tryResolveByKey(key, 'gateway', 'the camera answers again');
    }
  }

  onNotification(id: string, n: CameraNotification): void {
    const { bus, alerts, clock, config, registry, metrics, history } = this.deps;
    const cam = registry.get(id);
    // The driver read the vendor's topic (drivers/onvif/classify.ts).
    const { kind, active } = n;
    const nowMs = clock.now();
    const at = new Date(nowMs).toISOString();
    metrics.events.inc({ camera: id, kind });
    this.lastEvents.set(id, { kind, active, topic: n.topic, at });
    const alerting = active && n.operation !== 'Initialized' && (kind === 'motion' || kind === 'line_crossing' || kind === 'field_crossing');
    const schedules = config.cameras.zoneSchedules;
    const intrusionZones = alerting
      ? cam.zones.filter((zone) => {
          const windows = schedules[zone];
          return windows !== undefined && !withinWindows(windows, nowMs, config.school.timezone);
        })
      : [];
    bus.emit('camera.event', {
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
    try {
      history.record({ at: nowMs, cameraId: id, kind, topic: n.topic, accessPoints: cam.accessPoints, zones: cam.zones });
    } catch (err) {
      // Refused (a full disk): the timeline misses it, the alerts below do not. Thrown, it skipped them.
      this.deps.log.error('camera-events', { err, cameraId: id, kind }, 'camera event not kept for the timeline');
    }
    if (kind === 'tamper') {
      alerts.tryRaise({
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
      alerts.tryRaise({
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
}
