import { Counter, Gauge, type Registry } from 'prom-client';

/** Per-camera metrics; the label set is bounded by the registry, and a removed camera's series are dropped. */
export class CameraMetrics {
  readonly up: Gauge<'camera'>;
  readonly transitions: Counter<'camera' | 'state'>;
  readonly polls: Counter<'camera' | 'result'>;
  readonly clockOffset: Gauge<'camera'>;
  readonly events: Counter<'camera' | 'kind'>;
  readonly dropped: Counter<'camera'>;
  readonly subscriptions: Counter<'camera' | 'result'>;
  readonly snapshots: Counter<'camera' | 'result'>;
  readonly storeBytes: Gauge;
  readonly storeCount: Gauge;
  readonly discoveryInvalid: Counter;
  readonly evidence: Counter<'result'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.up = new Gauge({ name: 'campus_camera_up', help: '1 when the camera is online, 0 when offline', labelNames: ['camera'], registers });
    this.transitions = new Counter({
      name: 'campus_camera_state_changes_total',
      help: 'Online/offline transitions (after hysteresis)',
      labelNames: ['camera', 'state'],
      registers,
    });
    this.polls = new Counter({
      name: 'campus_camera_polls_total',
      help: 'Health polls by result (ok or an error code)',
      labelNames: ['camera', 'result'],
      registers,
    });
    this.clockOffset = new Gauge({
      name: 'campus_camera_clock_offset_seconds',
      help: "Camera clock minus the gateway's, applied to WS-Security",
      labelNames: ['camera'],
      registers,
    });
    this.events = new Counter({ name: 'campus_camera_events_total', help: 'ONVIF notifications by kind', labelNames: ['camera', 'kind'], registers });
    this.dropped = new Counter({
      name: 'campus_camera_notifications_invalid_total',
      help: 'Notifications we could not read (no topic)',
      labelNames: ['camera'],
      registers,
    });
    this.subscriptions = new Counter({
      name: 'campus_camera_subscriptions_total',
      help: 'PullPoint subscriptions created, renewed and lost',
      labelNames: ['camera', 'result'],
      registers,
    });
    this.snapshots = new Counter({
      name: 'campus_camera_snapshots_total',
      help: 'Snapshots by result (ok or an error code)',
      labelNames: ['camera', 'result'],
      registers,
    });
    this.storeBytes = new Gauge({ name: 'campus_camera_snapshot_store_bytes', help: 'Bytes of stored snapshots', registers });
    this.storeCount = new Gauge({ name: 'campus_camera_snapshot_store_count', help: 'Stored snapshots', registers });
    this.discoveryInvalid = new Counter({
      name: 'campus_camera_discovery_invalid_total',
      help: 'WS-Discovery replies that were not valid ProbeMatches',
      registers,
    });
    this.evidence = new Counter({
      name: 'campus_camera_evidence_total',
      help: 'Evidence snapshots for alerts by result',
      labelNames: ['result'],
      registers,
    });
  }

  /** Drops a removed camera's gauges (counters stay until restart: they are cumulative by definition). */
  forget(camera: string): void {
    this.up.remove({ camera });
    this.clockOffset.remove({ camera });
  }
}
