/**
 * Evidence for alerts at covered places: when an alert names an access point or a zone, the cameras covering it
 * take pictures (a preset named after the place recalled first) and, where they keep a pre-roll, a clip; a
 * recurrence, or the same alert at another place, takes its own.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Alert, AlertService } from '../alerts/alerts.js';
import type { EventBus } from '../core/bus.js';
import type { InFlight } from '../core/in-flight.js';
import type { Logger } from '../core/logger.js';
import type { CameraMetrics } from './metrics.js';
import type { CameraMonitor } from './monitor.js';
import type { CameraRecord, CameraRegistry } from './registry.js';
import type { SnapshotMeta, SnapshotReason } from './snapshots.js';

/** Pictures kept as one alert's evidence; later recurrences only count. */
export const MAX_EVIDENCE_PER_ALERT = 12;
/**
 * Clips kept as one alert's evidence, counted on their own: counted with the pictures, a camera whose pictures all
 * failed got a new clip at every recurrence (19 in 4 minutes) until the clip cap took other alerts' clips.
 */
export const MAX_CLIPS_PER_ALERT = 4;

/** Where an alert points the cameras. */
const placeOf = (alert: Alert): string => `${alert.accessPoint ?? ''}|${alert.zone ?? ''}`;

export interface AlertEvidenceDeps {
  bus: EventBus;
  alerts: AlertService;
  registry: CameraRegistry;
  metrics: CameraMetrics;
  log: Logger;
  /** Aborted when the cameras stop: a picture half taken is given up. */
  stopping: AbortSignal;
  /** Keeps each alert's evidence being gathered, so that the cameras' stop waits for what it writes. */
  work: InFlight;
  presetSettleMs: number;
  monitor(cameraId: string): CameraMonitor | undefined;
  takeSnapshot(cameraId: string, reason: SnapshotReason, alertId: string): Promise<SnapshotMeta>;
  clipFor(cameraId: string, alertId: string, eventAt: number): Promise<{ id: string }>;
  keepsClips(c: CameraRecord): boolean;
}

export class AlertEvidence {
  /** Alerts given evidence, and the place it was taken for. */
  private readonly evidencePlaces = new Map<string, string>();
  /** How many occurrences of each alert have had their pictures taken: every recurrence gets its own. */
  private readonly evidenceCounts = new Map<string, number>();
  /** Alerts whose pictures, and whose clips, are being taken now. */
  private readonly gathering = new Set<string>();
  private readonly clipping = new Set<string>();

  constructor(private readonly deps: AlertEvidenceDeps) {}

  /** Listens to alerts; returns what stops listening. */
  start(): () => void {
    const { bus } = this.deps;
    const offs = [
      bus.on('alert.raised', (alert) => this.onAlert(alert)),
      // A repeat somewhere else (the lost card now used in the canteen) needs that place's picture too.
      bus.on('alert.updated', (alert) => {
        if (!this.evidencePlaces.has(alert.id)) return;
        // A recurrence (the lost card used again) is new evidence even at the same place.
        if (this.evidencePlaces.get(alert.id) !== placeOf(alert) || alert.count > (this.evidenceCounts.get(alert.id) ?? alert.count)) this.onAlert(alert);
      }),
      bus.on('alert.resolved', (alert) => {
        this.evidencePlaces.delete(alert.id);
        this.evidenceCounts.delete(alert.id);
      }),
    ];
    return () => offs.forEach((off) => off());
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
    // A card used again and again must not fill the disk with one alert's pictures or clips.
    const picturesNow = alert.snapshotIds.length < MAX_EVIDENCE_PER_ALERT;
    const clipNow = alert.clipIds.length < MAX_CLIPS_PER_ALERT && !this.clipping.has(alert.id);
    if (!picturesNow && !clipNow) return;
    const cams = this.deps.registry.covering(alert.accessPoint, alert.zone).slice(0, 3);
    // The event happened now (the pre-roll runs on the wall clock, whatever clock the alerts use).
    const eventAt = Date.now();
    const pictures: Promise<unknown>[] = [];
    const clips: Promise<unknown>[] = [];
    let clipsLeft = MAX_CLIPS_PER_ALERT - alert.clipIds.length;
    for (const cam of cams) {
      if (clipNow && clipsLeft > 0 && this.deps.keepsClips(cam)) {
        clipsLeft--;
        clips.push(this.collectClip(alert, cam.id, eventAt));
      }
      if (picturesNow) pictures.push(this.collectEvidence(alert, cam).catch((err: unknown) => {
        this.deps.metrics.evidence.inc({ result: 'failed' });
        this.deps.log.warn({ alert: alert.id, camera: cam.id, err: (err as Error).message }, 'no evidence snapshot');
      }));
    }
    // A clip spans the post-roll (seconds): pictures of a recurrence elsewhere meanwhile must not wait for it.
    const hold = (set: Set<string>, jobs: Promise<unknown>[]): void => {
      if (jobs.length === 0) return;
      set.add(alert.id);
      void this.deps.work.track(Promise.allSettled(jobs)).then(() => set.delete(alert.id));
    };
    hold(this.gathering, pictures);
    hold(this.clipping, clips);
  }

  private async collectEvidence(alert: Alert, cam: CameraRecord): Promise<void> {
    const { metrics, stopping, log } = this.deps;
    const monitor = this.deps.monitor(cam.id);
    if (!monitor || monitor.currentState === 'offline') {
      metrics.evidence.inc({ result: 'skipped_offline' });
      return;
    }
    const preset = (alert.accessPoint && cam.presets[alert.accessPoint]) || (alert.zone && cam.presets[alert.zone]) || null;
    if (preset) {
      try {
        await monitor.gotoPreset(preset);
        await delay(this.deps.presetSettleMs, undefined, { signal: stopping });
      } catch (err) {
        if (stopping.aborted) return;
        // A picture from the current position is still evidence.
        log.warn({ camera: cam.id, preset, err: (err as Error).message }, 'preset recall failed');
      }
    }
    if (stopping.aborted) return;
    const snap = await this.deps.takeSnapshot(cam.id, 'evidence', alert.id);
    this.deps.alerts.attachSnapshot(alert.id, snap.id);
    metrics.evidence.inc({ result: 'attached' });
  }

  private async collectClip(alert: Alert, cameraId: string, eventAt: number): Promise<void> {
    try {
      // Also when the cameras stopped meanwhile: the clip then says why it has no video, and the stop waits for this.
      const clip = await this.deps.clipFor(cameraId, alert.id, eventAt);
      this.deps.alerts.attachClip(alert.id, clip.id);
    } catch (err) {
      this.deps.log.warn({ alert: alert.id, camera: cameraId, err: (err as Error).message }, 'no evidence clip');
    }
  }
}
