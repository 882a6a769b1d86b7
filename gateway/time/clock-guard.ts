/**
 * Is the gateway's clock right? A Raspberry Pi has no real-time clock: after a power cut it may run with the wrong date
 * until NTP answers, and attendance, the wallet's daily cap and every event time would follow it. Compared every
 * `clock.checkEveryS` with the host's NTP status (`timedatectl`), the median of the cameras' clock offsets (each
 * camera's clock is read on every health poll) and the city upstream's clock (the Date header of its HTTP answers);
 * an unsynchronised host or an offset over `clock.maxOffsetS` raises `clock_unsynchronized` (warning), which
 * resolves when all of them are fine again.
 */
import { execFile } from 'node:child_process';
import { Gauge } from 'prom-client';
import { WantedAlert } from '../core/wanted-alert.js';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../module/context.js';

export interface ClockSources {
  /** true/false from the host; null where the host cannot say (no systemd, a container). */
  hostSynchronized(): Promise<boolean | null>;
  /** Each online camera's clock minus ours, in ms. */
  cameraOffsetsMs(): number[];
  /** The city upstream's clock minus ours, in ms; null when it cannot say (no upstream, MQTT, no answer yet). */
  upstreamOffsetMs?(): number | null;
  /** Whether that clock came over a verified HTTPS link: on plain HTTP anyone on the path writes the Date header. */
  upstreamVerified?(): boolean;
}

/** `timedatectl show -p NTPSynchronized --value`: yes / no, or null when there is no timedatectl or no systemd. */
export function timedatectlSynchronized(): Promise<boolean | null> {
  return new Promise((resolve) => {
    execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 3_000 }, (err, stdout) => {
      if (err) return resolve(null);
      const v = stdout.trim();
      resolve(v === 'yes' ? true : v === 'no' ? false : null);
    });
  });
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface ClockStatus {
  ok: boolean;
  hostSynchronized: boolean | null;
  cameraOffsetS: number | null;
  upstreamOffsetS: number | null;
  problems: string[];
}

const seconds = (ms: number | null): number | null => (ms === null ? null : Math.round(ms / 100) / 10);
const direction = (s: number): string => `${Math.abs(s)} s ${s > 0 ? 'ahead of' : 'behind'} the gateway's`;

const ALERT_KEY = 'clock_unsynchronized:gateway';

export class ClockGuard implements GatewayModule {
  readonly name = 'clock';
  private timer: NodeJS.Timeout | undefined;
  private last: ClockStatus = { ok: true, hostSynchronized: null, cameraOffsetS: null, upstreamOffsetS: null, problems: [] };
  private checking: Promise<ClockStatus> | undefined;
  /**
   * clock_unsynchronized: raised at each check while the clock is off; its resolve, when the database refuses it (a
   * full disk), is written again at each check while the clock agrees, until taken (only a change resolved it before).
   */
  private readonly alert: WantedAlert<Parameters<GatewayContext['alerts']['tryRaise']>[0]>;
  /**
   * Checks made: an alert the run before left open is resolved at the second that finds the clock agreeing, not at the
   * start's (the cameras and the city have not been asked yet). A new guard starts as ok, so no change from not ok
   * would come, and that alert stayed open for good (the disk guard's is resolved at its first check).
   */
  private checks = 0;
  private leftOpen = true;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly sources: ClockSources,
  ) {
    this.alert = new WantedAlert(ctx.alerts, ALERT_KEY);
    const self = this;
    new Gauge({
      name: 'campus_clock_offset_seconds',
      help: "Another clock minus the gateway's, by source: cameras (their median) and upstream (the city's HTTP Date); NaN when unknown",
      labelNames: ['source'] as const,
      registers: [ctx.metrics],
      collect() {
        this.set({ source: 'cameras' }, self.last.cameraOffsetS ?? Number.NaN);
        this.set({ source: 'upstream' }, self.last.upstreamOffsetS ?? Number.NaN);
      },
    });
    new Gauge({
      name: 'campus_clock_host_synchronized',
      help: "The host's NTP status: 1 synchronised, 0 not, -1 unknown",
      registers: [ctx.metrics],
      collect() {
        this.set(self.last.hostSynchronized === null ? -1 : self.last.hostSynchronized ? 1 : 0);
      },
    });
  }

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.ctx.config.clock.checkEveryS * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.checking?.catch(() => {});
  }

  /** One comparison; raises or resolves the alert. */
  check(): Promise<ClockStatus> {
    this.checking ??= this.compare().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private async compare(): Promise<ClockStatus> {
    const cfg = this.ctx.config.clock;
    const host = cfg.hostNtp ? await this.sources.hostSynchronized().catch(() => null) : null;
    const cameraOffsetS = seconds(median(this.sources.cameraOffsetsMs()));
    let upstreamOffsetS: number | null = null;
    try {
      upstreamOffsetS = seconds(this.sources.upstreamOffsetMs?.() ?? null);
    } catch (err) {
      this.ctx.log.warn({ err }, "could not read the upstream's clock");
    }
    const problems: string[] = [];
    if (host === false) problems.push('the host says its clock is not synchronised by NTP (timedatectl)');
    if (cameraOffsetS !== null && Math.abs(cameraOffsetS) > cfg.maxOffsetS) {
      problems.push(`the cameras' clocks are ${direction(cameraOffsetS)} (median)`);
    }
    if (upstreamOffsetS !== null && Math.abs(upstreamOffsetS) > cfg.maxOffsetS) {
      problems.push(`the city upstream's clock is ${direction(upstreamOffsetS)} (HTTP Date header)`);
    }
    const status: ClockStatus = { ok: problems.length === 0, hostSynchronized: host, cameraOffsetS, upstreamOffsetS, problems };
    const was = this.last.ok;
    this.last = status;
    // Refused by a full disk: counted and logged by tryRaise, and raised again at the next check while it lasts; a
    // refused resolve likewise is written again at each check while the clock agrees.
    if (!status.ok) {
      this.alert.raise({
        type: 'clock_unsynchronized',
        severity: 'warning',
        source: 'gateway',
        message: `the gateway's clock may be wrong: ${problems.join('; ')}. Taps, attendance and the daily cap use it: check NTP (timedatectl status)`,
        dedupKey: ALERT_KEY,
        data: { hostSynchronized: host, cameraOffsetS, upstreamOffsetS },
      });
    }
    this.checks++;
    const carried = this.leftOpen && this.checks > 1;
    if (!status.ok || carried) this.leftOpen = false; // this run's own now, or resolved below (retried if refused)
    if (status.ok && (!was || carried)) this.alert.resolve('the clock agrees with the host, the cameras and the city again');
    else if (status.ok) this.alert.tick();
    return status;
  }

  /**
   * Whether a trustworthy source agrees with the gateway's clock now: the host's NTP, or the city's clock over a
   * verified HTTPS link. Not the cameras (anything at a camera's address answers for them), nor a city on plain HTTP.
   * Retention runs by the clock only while this holds (storage/retention-clock.ts).
   */
  confirmed(): boolean {
    const s = this.last;
    const upstreamAgrees =
      s.upstreamOffsetS !== null && Math.abs(s.upstreamOffsetS) <= this.ctx.config.clock.maxOffsetS && (this.sources.upstreamVerified?.() ?? false);
    return (s.hostSynchronized === true && (s.upstreamOffsetS === null || upstreamAgrees)) || upstreamAgrees;
  }

  health(): ComponentHealth {
    const s = this.last;
    const parts = [
      `host NTP ${s.hostSynchronized === null ? 'unknown' : s.hostSynchronized ? 'synchronised' : 'not synchronised'}`,
      `cameras ${s.cameraOffsetS === null ? 'none online' : `${s.cameraOffsetS} s`}`,
      `upstream ${s.upstreamOffsetS === null ? 'unknown' : `${s.upstreamOffsetS} s`}`,
    ];
    // A warning, not an outage: /healthz stays 200, the alert says it.
    // Offsets as numbers for the console; '—' where there is nothing to measure against (no camera, no upstream).
    const params = { ntp: s.hostSynchronized === null ? '—' : s.hostSynchronized ? '✓' : '✗', camera: s.cameraOffsetS ?? '—', upstream: s.upstreamOffsetS ?? '—' };
    return { ok: true, detail: s.ok ? parts.join(', ') : `warning: ${s.problems.join('; ')} (${parts.join(', ')})`, code: s.ok ? 'clock_ok' : 'clock_warning', params };
  }
}
