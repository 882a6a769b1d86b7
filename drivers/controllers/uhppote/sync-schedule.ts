/**
 * When the gateway brings online controllers to its plan besides a card.changed (written at once by the module): in
 * full every night at `nightlySyncAt` school time (with the clock set), and incrementally whenever the holders'
 * version moved (gateway/people/holders-version.ts): a person's new group, role or security flag, or a change the CLI
 * made beside the gateway. An incremental run plans again and writes only what differs from the controller's mirror,
 * so a change already written makes it a no-op. Offline controllers are reconciled in full when they answer again.
 */
import { localTime } from '../../../gateway/core/school-calendar.js';
import type { DeviceRuntime } from './device.js';

/** The nightly check's period: the minute of nightlySyncAt is always seen. */
const NIGHTLY_CHECK_MS = 20_000;
/** A change to holders reaches the controllers within this, where it used to wait for the nightly reconciliation. */
const HOLDERS_POLL_MS = 5000;

export class SyncSchedule {
  private nightly: NodeJS.Timeout | undefined;
  private holders: NodeJS.Timeout | undefined;
  private nightlyDone = '';

  constructor(
    private readonly devices: readonly DeviceRuntime[],
    private readonly opts: { nightlySyncAt: string; timeZone: string; now: () => number; holdersVersion: () => number },
  ) {}

  start(): void {
    this.nightly = setInterval(() => {
      const t = localTime(this.opts.now(), this.opts.timeZone);
      if (t.time.slice(0, 5) !== this.opts.nightlySyncAt || this.nightlyDone === t.date) return;
      this.nightlyDone = t.date;
      for (const d of this.online()) {
        void d.sync.request('full');
        void d.setClock().catch(() => {});
      }
    }, NIGHTLY_CHECK_MS);
    this.nightly.unref();
    let seen = this.opts.holdersVersion();
    this.holders = setInterval(() => {
      const v = this.opts.holdersVersion();
      if (v === seen) return;
      seen = v;
      for (const d of this.online()) void d.sync.request('incremental');
    }, HOLDERS_POLL_MS);
    this.holders.unref();
  }

  stop(): void {
    clearInterval(this.nightly);
    clearInterval(this.holders);
  }

  private online(): DeviceRuntime[] {
    return this.devices.filter((d) => d.health === 'online');
  }
}
