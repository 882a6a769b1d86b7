/**
 * One controller as the gateway runs it: polls its status (health, new events, clock drift), and when it answers
 * again after silence (or for the first time) points its listener at the gateway, sets its clock, reads back missed
 * events and reconciles its card list in full. Its requests share nothing with other controllers' but the socket.
 */
import { createSocket } from 'node:dgram';
import type { ControllerDeviceConfig } from '../../../config/controllers.js';
import { hostPort } from '../../../config/controllers.js';
import { localTime } from '../../../gateway/core/school-calendar.js';
import { ControllerForgeryError, type Checked, type CheckedType, type ControllerAddress, type ResponseOf, type UhppoteClient } from './client.js';
import { controllerTimeToEpoch, EventPump } from './events.js';
import { CardSync, type CheckedValue } from './sync.js';
import type { ControllerEvent, ControllerStatus } from './responses.js';
import type { DevicePlan } from './plan.js';
import type { Lane } from './request-lanes.js';

export type ControllerHealth = 'starting' | 'online' | 'offline' | 'stopped';

export interface DeviceDeps {
  config: ControllerDeviceConfig;
  client: UhppoteClient;
  timeZone: string;
  pollIntervalMs: number;
  maxClockDriftS: number;
  /** The listener address to write into the controller ("host:port"), given the local address that reaches it. */
  listenerFor: (localAddress: string) => { address: string; port: number };
  now: () => number;
  plan: () => DevicePlan;
  /** The controller's own anti-passback mode the config asks for (plan.ts antiPassbackPlan; 0 off). */
  antiPassbackMode: number;
  pump: (device: DeviceRuntime) => EventPump;
  lastFullSync: string | null;
  onFullSync: (at: string) => void;
  onHealth: (health: ControllerHealth, previous: ControllerHealth, detail: string | undefined) => void;
  onRequest: (outcome: 'ok' | 'timeout' | 'forged') => void;
  onClockSet: (driftS: number | null) => void;
  /** After each status poll the controller answered (lockdown.ts reads its doors back, and during a lockdown its card count). */
  onPolled: () => Promise<void>;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

/** The local IPv4 address the OS would send from to reach `host` (a connected UDP socket sends nothing). */
export async function localAddressFor(host: string, port: number): Promise<string> {
  const s = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.connect(port, host, () => resolve());
    });
    return s.address().address;
  } finally {
    s.close();
  }
}

export class DeviceRuntime {
  readonly target: ControllerAddress;
  health: ControllerHealth = 'starting';
  since: number;
  detail: string | undefined;
  lastStatus: ControllerStatus | undefined;
  lastSeen: number | null = null;
  clockDriftS: number | null = null;
  /** The anti-passback mode the controller answered after the gateway set it (null until read). */
  antiPassback: number | null = null;
  readonly sync: CardSync;
  readonly events: EventPump;
  /** When the gateway last sent each door an open-door (its answer may have been lost while the door opened). */
  private readonly opensSent = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling: Promise<void> | undefined;

  constructor(private readonly d: DeviceDeps) {
    const { host, port } = hostPort(d.config.address, 60000);
    this.target = { serial: d.config.serial, host, port };
    this.since = d.now();
    this.sync = new CardSync(
      {
        count: async () => (await this.ask({ type: 'get-cards' })).count,
        cardAt: async (index) => this.askChecked({ type: 'get-card-at-index', index }, (r) => r.record),
        put: async (record) => this.askChecked({ type: 'put-card', record }, (r) => r.ok),
        delete: async (card) => this.askChecked({ type: 'delete-card', card }, (r) => r.ok),
        setProfile: async (profile) => this.askChecked({ type: 'set-time-profile', profile }, (r) => r.ok),
      },
      d.plan,
      d.now,
      d.onFullSync,
      d.lastFullSync,
    );
    this.events = d.pump(this);
  }

  get id(): string {
    return this.d.config.id;
  }
  get config(): ControllerDeviceConfig {
    return this.d.config;
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops polling at once (synchronously); resolves when the poll, the event pump and the card sync have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.events.stop();
    await this.polling?.catch(() => {});
    // After the poll: a reconnect in it starts a full sync. Both swallow their errors.
    await Promise.all([this.events.idle(), this.sync.idle()]);
    this.setHealth('stopped');
  }

  /** One request through the shared client, counted; throws ControllerTimeoutError when the controller is silent. */
  async ask<T extends Parameters<UhppoteClient['request']>[1]['type']>(req: Parameters<UhppoteClient['request']>[1] & { type: T }, optional = false, lane: Lane = 'first') {
    try {
      const r = await this.d.client.request<T>(this.target, req, { lane });
      this.d.onRequest('ok');
      return r;
    } catch (err) {
      // Two different replies: someone on the LAN answered for the controller, which answered too. Nothing is
      // believed, and the controller is not offline.
      if (err instanceof ControllerForgeryError) {
        this.d.onRequest('forged');
        throw err;
      }
      this.d.onRequest('timeout');
      // An optional request (one older firmware may not answer) does not make the controller offline; the status
      // poll decides that.
      if (!optional) this.markOffline((err as Error).message);
      throw err;
    }
  }

  /**
   * A card-list request checked in the background (client.ts CHECKED_LATER): its reply now, and later whether it was the
   * controller's alone (counted then: `ok`, or `forged` for two different replies). A silent controller is offline, as
   * with ask().
   */
  private async askChecked<T extends CheckedType, V>(req: Parameters<UhppoteClient['requestChecked']>[1] & { type: T }, take: (r: ResponseOf<T>) => V): Promise<CheckedValue<V>> {
    let checked: Checked<T>;
    try {
      checked = await this.d.client.requestChecked<T>(this.target, req);
    } catch (err) {
      this.d.onRequest('timeout');
      this.markOffline((err as Error).message);
      throw err;
    }
    const genuine = checked.verdict.then((v) => {
      if (v !== 'stopped') this.d.onRequest(v === 'genuine' ? 'ok' : 'forged');
      return v === 'genuine';
    });
    return { value: take(checked.reply), genuine };
  }

  /** A log entry, read after the controller's other requests (request-lanes.ts): the controller keeps its log. */
  readEvent(index: number): Promise<ControllerEvent> {
    return this.ask({ type: 'get-event', index }, false, 'second').then((r) => r.event);
  }

  async openDoor(door: number): Promise<boolean> {
    this.opensSent.set(door, this.d.now());
    return (await this.ask({ type: 'open-door', door })).ok;
  }

  /** Whether this process sent the door an open-door within `windowMs` of `at` (epoch ms). */
  openSentNear(door: number, at: number, windowMs: number): boolean {
    const sent = this.opensSent.get(door);
    return sent !== undefined && Math.abs(sent - at) <= windowMs;
  }

  /** Sets the controller's clock to the school's local time now. */
  async setClock(): Promise<void> {
    const t = localTime(this.d.now(), this.d.timeZone);
    const { datetime } = await this.ask({ type: 'set-time', datetime: `${t.date} ${t.time}` });
    this.d.onClockSet(this.clockDriftS);
    // The reply is the clock as it now reads: a dead clock chip still shows no real time, and the console says so.
    const shown = controllerTimeToEpoch(datetime, this.d.timeZone);
    this.clockDriftS = shown === undefined ? null : Math.round((shown - this.d.now()) / 1000);
  }

  /**
   * Sets the controller's anti-passback mode when it differs from the config's, and reads it back: the mode is the
   * controller's to keep while the gateway is away, so what it answers is what is shown, not what was sent.
   */
  async applyAntiPassback(): Promise<void> {
    const want = this.d.antiPassbackMode;
    try {
      let have = (await this.ask({ type: 'get-anti-passback' }, true)).mode;
      if (have !== want) {
        const set = await this.ask({ type: 'set-anti-passback', mode: want }, true);
        have = (await this.ask({ type: 'get-anti-passback' }, true)).mode;
        if (!set.ok || have !== want) this.d.log.warn({ controller: this.id, wanted: want, answered: have }, 'controller did not take the anti-passback mode');
        else this.d.log.info({ controller: this.id, mode: want }, 'controller anti-passback mode set');
      }
      this.antiPassback = have;
    } catch (err) {
      // Firmware without the anti-passback functions stays silent to them: the controller still works, without it.
      this.antiPassback = null;
      this.d.log.warn({ controller: this.id, wanted: want, err: (err as Error).message }, 'controller did not answer get/set anti-passback (firmware without it?)');
    }
  }

  /** Reads status now (and, if the controller just came back, does the reconnect work). */
  pollNow(): Promise<void> {
    this.polling ??= this.poll()
      .catch((err: unknown) => this.d.log.warn({ err, controller: this.id }, 'controller status poll failed'))
      .finally(() => {
        this.polling = undefined;
      });
    return this.polling;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.pollNow().finally(() => this.schedule(this.d.pollIntervalMs));
    }, ms);
  }

  private async poll(): Promise<void> {
    let status: ControllerStatus;
    try {
      status = (await this.ask({ type: 'get-status' })).status;
    } catch {
      return;
    }
    if (this.stopped) return;
    this.lastStatus = status;
    this.lastSeen = this.d.now();
    const shown = controllerTimeToEpoch(status.systemTime, this.d.timeZone);
    this.clockDriftS = shown === undefined ? null : Math.round((shown - this.d.now()) / 1000);
    const back = this.health !== 'online';
    if (back) await this.reconnect().catch((err: unknown) => this.d.log.warn({ err, controller: this.id }, 'controller reconnect incomplete'));
    else if (this.clockDriftS === null || Math.abs(this.clockDriftS) > this.d.maxClockDriftS) await this.setClock().catch(() => {});
    if (this.health === 'offline') return;
    this.events.onStatus(status.lastIndex);
    if (this.sync.retryFailed()) this.d.log.info({ controller: this.id, failed: this.sync.state().lastError }, 'controller card sync failed earlier; reconciling it again');
    await this.d.onPolled();
  }

  private async reconnect(): Promise<void> {
    const local = await localAddressFor(this.target.host, this.target.port);
    const listener = this.d.listenerFor(local);
    await this.ask({ type: 'set-listener', address: listener.address, port: listener.port, interval: 0 });
    await this.setClock();
    await this.applyAntiPassback();
    this.setHealth('online');
    this.d.log.info({ controller: this.id, listener }, 'controller online');
    void this.sync.request('full');
  }

  private markOffline(detail: string): void {
    if (this.stopped) return;
    this.detail = detail;
    this.setHealth('offline');
  }

  private setHealth(h: ControllerHealth): void {
    if (h === this.health) return;
    const prev = this.health;
    this.health = h;
    this.since = this.d.now();
    if (h === 'online') this.detail = undefined;
    this.d.onHealth(h, prev, this.detail);
  }
}
