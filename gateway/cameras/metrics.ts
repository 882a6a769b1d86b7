import type { Counter, Gauge, Registry } from 'prom-client';
import { MetricFactory } from '../core/metrics.js';

/** Per-camera metrics; the label set is bounded by the registry, and a removed camera's series are dropped. */
export class CameraMetrics {
  readonly up: Gauge<'camera'>;
  readonly transitions: Counter<'camera' | 'state'>;
  readonly polls: Counter<'camera' | 'result'>;
  readonly clockOffset: Gauge<'camera'>;
  readonly events: Counter<'camera' | 'kind'>;
  readonly dropped: Counter<'camera'>;
  readonly overLimit: Counter<'camera'>;
  readonly subscriptions: Counter<'camera' | 'result'>;
  readonly snapshots: Counter<'camera' | 'result'>;
  readonly storeBytes: Gauge;
  readonly storeCount: Gauge;
  readonly discoveryInvalid: Counter;
  readonly evidence: Counter<'result'>;

  constructor(registry: Registry) {
    const m = new MetricFactory(registry);
    this.up = m.gauge('campus_camera_up', '1 when the camera is online, 0 when offline', ['camera']);
    this.transitions = m.counter('campus_camera_state_changes_total', 'Online/offline transitions (after hysteresis)', ['camera', 'state']);
    this.polls = m.counter('campus_camera_polls_total', 'Health polls by result (ok or an error code)', ['camera', 'result']);
    this.clockOffset = m.gauge('campus_camera_clock_offset_seconds', "Camera clock minus the gateway's, applied to WS-Security", ['camera']);
    this.events = m.counter('campus_camera_events_total', 'ONVIF notifications by kind', ['camera', 'kind']);
    this.dropped = m.counter('campus_camera_notifications_invalid_total', 'Notifications we could not read (no topic)', ['camera']);
    this.overLimit = m.counter('campus_camera_notifications_over_limit_total', 'Notifications past the MessageLimit a pull asked for, not read', ['camera']);
    this.subscriptions = m.counter('campus_camera_subscriptions_total', 'PullPoint subscriptions created, renewed and lost', ['camera', 'result']);
    this.snapshots = m.counter('campus_camera_snapshots_total', 'Snapshots by result (ok or an error code)', ['camera', 'result']);
    this.storeBytes = m.gauge('campus_camera_snapshot_store_bytes', 'Bytes of stored snapshots');
    this.storeCount = m.gauge('campus_camera_snapshot_store_count', 'Stored snapshots');
    this.discoveryInvalid = m.counter('campus_camera_discovery_invalid_total', 'WS-Discovery replies that were not valid ProbeMatches');
    this.evidence = m.counter('campus_camera_evidence_total', 'Evidence snapshots for alerts by result', ['result']);
  }

  /** Drops a removed camera's gauges (counters stay until restart: they are cumulative by definition). */
  forget(camera: string): void {
    this.up.remove({ camera });
    this.clockOffset.remove({ camera });
  }
}
