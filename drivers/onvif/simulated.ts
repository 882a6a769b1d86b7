/**
 * The demo's cameras: they answer like a camera would through the same session contract, so the domain's health
 * checks, PullPoint loop, evidence and snapshot store run unchanged. Snapshots are generated test cards
 * (gradient, caption, timestamp); motion comes at random intervals; a camera with `offlineEveryS` drops out for
 * `offlineForS` on a fixed wall-clock cycle.
 */
import { createHash } from 'node:crypto';
import { localTime } from '../../gateway/core/school-calendar.js';
import {
  CameraError,
  type CameraConnection,
  type CameraEndpoint,
  type CameraNotification,
  type CameraSession,
  type PullPointSubscription,
  type PullResult,
} from '../../gateway/cameras/port.js';
import { renderCard } from './jpeg.js';

const TERMINATION_MS = 120_000;
const MAX_HOLD_MS = 20_000;

export class SimulatedSession implements CameraSession {
  private closed = false;
  private readonly pending = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();
  private readonly hue: number;
  private nextMotionAt: number;
  private motionActive = false;
  private subscribedUntil = 0;

  constructor(
    private readonly ep: CameraEndpoint,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
    private readonly timeZone = 'UTC',
  ) {
    this.hue = createHash('sha1').update(ep.id).digest()[0]! * (360 / 256);
    this.nextMotionAt = this.now() + this.motionGap();
  }

  private get sim(): NonNullable<CameraEndpoint['simulation']> {
    return this.ep.simulation ?? { motionEveryS: 0, offlineEveryS: 0, offlineForS: 0 };
  }

  private motionGap(): number {
    const mean = this.sim.motionEveryS * 1000;
    return mean > 0 ? Math.max(1000, -Math.log(1 - this.random()) * mean) : Number.POSITIVE_INFINITY;
  }

  /** Down during the last `offlineForS` of every `offlineEveryS` cycle. */
  isDown(at = this.now()): boolean {
    const { offlineEveryS, offlineForS } = this.sim;
    if (offlineEveryS <= 0 || offlineForS <= 0) return false;
    const inCycle = (at / 1000) % offlineEveryS;
    return inCycle >= offlineEveryS - Math.min(offlineForS, offlineEveryS);
  }

  /** Whether it dropped out at any moment between two instants: an outage ends every cycle. */
  private droppedBetween(from: number, to: number): boolean {
    const { offlineEveryS, offlineForS } = this.sim;
    if (offlineEveryS <= 0 || offlineForS <= 0) return false;
    return this.isDown(to) || Math.floor(from / 1000 / offlineEveryS) !== Math.floor(to / 1000 / offlineEveryS);
  }

  private wait(ms: number): Promise<void> {
    if (this.closed) return Promise.reject(new CameraError('closed', 'session closed'));
    return new Promise((resolve, reject) => {
      const entry = {
        timer: setTimeout(() => {
          this.pending.delete(entry);
          resolve();
        }, ms),
        reject,
      };
      this.pending.add(entry);
    });
  }

  /** A down camera behaves like a hung one: nothing until the request times out. */
  private async reachable(what: string): Promise<void> {
    if (this.isDown()) {
      await this.wait(Math.min(this.ep.requestTimeoutMs, 2_000));
      // Said as the demo's planned outage, so whoever starts the demo inside that window does not go looking for a fault.
      const { offlineForS, offlineEveryS } = this.sim;
      throw new CameraError('timeout', `${what}: ${this.ep.id} (simulated) did not answer: its planned outage, ${offlineForS} s in every ${offlineEveryS} s`);
    }
    await this.wait(5 + this.random() * 20);
  }

  async connect(): Promise<CameraConnection> {
    await this.reachable('connect');
    return {
      device: { manufacturer: 'Campus Simulated', model: 'SIM-CAM 1080', firmwareVersion: '1.0.0', serialNumber: `SIM-${this.ep.id}` },
      profiles: [{ token: 'main', name: 'Main stream', rtspUri: `rtsp://simulated/${this.ep.id}/main` }],
      snapshotUri: `simulated://${this.ep.id}/snapshot.jpg`,
      clockOffsetMs: 0,
      ptz: true,
    };
  }

  async check(): Promise<{ clockOffsetMs: number }> {
    await this.reachable('check');
    return { clockOffsetMs: 0 };
  }

  async snapshot(): Promise<Buffer> {
    await this.reachable('snapshot');
    // In the school's time, as its real cameras are set: a UTC stamp read a different date from the console's.
    const local = localTime(this.now(), this.timeZone);
    const stamp = `${local.date} ${local.time}`;
    return renderCard({ width: 480, height: 270, hue: this.hue, caption: this.ep.id, stamp, motion: this.motionActive });
  }

  async gotoPreset(): Promise<void> {
    await this.reachable('GotoPreset');
  }

  async subscribe(): Promise<PullPointSubscription> {
    await this.reachable('CreatePullPointSubscription');
    this.subscribedUntil = this.now() + TERMINATION_MS;
    return { terminationTime: this.subscribedUntil };
  }

  async renew(): Promise<PullPointSubscription> {
    await this.reachable('Renew');
    if (this.now() > this.subscribedUntil) throw new CameraError('subscription_lost', 'Renew: subscription expired');
    this.subscribedUntil = this.now() + TERMINATION_MS;
    return { terminationTime: this.subscribedUntil };
  }

  async pull(): Promise<PullResult> {
    await this.reachable('PullMessages');
    if (this.now() > this.subscribedUntil) throw new CameraError('subscription_lost', 'PullMessages: subscription expired');
    const started = this.now();
    const until = this.motionActive ? started + 5_000 : this.nextMotionAt;
    await this.wait(Math.max(0, Math.min(MAX_HOLD_MS, until - started)));
    if (this.droppedBetween(started, this.now())) {
      // The held pull died with the connection, even when the camera is back by now; like a real one after a
      // reboot it has forgotten its motion state. Without this, a motion change made here for a caller that had
      // given up was never reported, and a camera up for less than 5 s at a time never reported motion again.
      this.motionActive = false;
      this.nextMotionAt = this.now() + this.motionGap();
      throw new CameraError('unreachable', `PullMessages: ${this.ep.id} (simulated) went away`);
    }
    const notifications: CameraNotification[] = [];
    if (this.now() >= until) {
      this.motionActive = !this.motionActive;
      if (!this.motionActive) this.nextMotionAt = this.now() + this.motionGap();
      notifications.push({
        topic: 'RuleEngine/CellMotionDetector/Motion',
        operation: 'Changed',
        utcTime: new Date(this.now()).toISOString(),
        source: { VideoSourceConfigurationToken: 'main', Rule: 'MyMotionDetectorRule' },
        data: { IsMotion: String(this.motionActive) },
        kind: 'motion',
        active: this.motionActive,
      });
    }
    return { notifications, terminationTime: this.subscribedUntil, dropped: 0, overLimit: 0, clockOffsetMs: 0 };
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending) {
      clearTimeout(p.timer);
      p.reject(new CameraError('closed', 'session closed'));
    }
    this.pending.clear();
  }
}
