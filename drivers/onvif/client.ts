/**
 * One ONVIF camera through the `onvif` library (agsh/onvif 0.8). The library is callback-based, can throw
 * synchronously (e.g. on a camera without an active profile) and sometimes calls back twice; every call here goes
 * through `call()`, which settles exactly once, within its own timeout, and turns anything into a CameraError.
 * We drive the handshake ourselves instead of `Cam.connect()`, whose callback never comes when a media call fails
 * half-way, and run our own PullPoint loop (in the domain) instead of the library's `event` listener, which
 * unsubscribes on errors; some cameras cancel every subscription on Unsubscribe, so we let them expire.
 */
import { Agent } from 'node:http';
import { Cam } from 'onvif';
import {
  CameraError,
  PULL_MESSAGE_LIMIT,
  type CameraConnection,
  type CameraEndpoint,
  type CameraSession,
  type DeviceInfo,
  type MediaProfile,
  type PullPointSubscription,
  type PullResult,
} from '../../gateway/cameras/port.js';
import { classify, firstLineOf, rtspPortError } from './errors.js';
import { normalizeNotifications } from './notifications.js';
import { fetchImage } from './snapshot-fetch.js';
import { boundSoapTransport } from './soap-transport.js';

type Callback = (err: Error | null, data?: unknown, xml?: string) => void;

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
}

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const o = rec(v);
  return typeof o._ === 'string' ? o._ : '';
}

/** The camera's `CurrentTime` in an answer (ms since the epoch), NaN without one. */
function currentTimeOf(data: unknown): number {
  const d = rec(data);
  return d.currentTime instanceof Date ? d.currentTime.getTime() : Date.parse(str(d.currentTime));
}

/** Our clock's time of the camera's `TerminationTime`, from its own `CurrentTime` (so clock skew cancels out). */
function terminationOf(data: unknown): number | null {
  const d = rec(data);
  const current = currentTimeOf(d);
  const termination = d.terminationTime instanceof Date ? d.terminationTime.getTime() : Date.parse(str(d.terminationTime));
  if (!Number.isFinite(termination)) return null;
  return Number.isFinite(current) ? Date.now() + (termination - current) : termination;
}

function withoutCredentials(uri: string): string {
  try {
    const u = new URL(uri);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return uri;
  }
}

export class OnvifSession implements CameraSession {
  private readonly cam: Cam;
  /**
   * Every socket of this camera goes through it, so close() can abort whatever is in flight. Kept alive: a camera's
   * pulls follow one another on one connection (with 256 cameras, a connection per pull was a fifth of the gateway's
   * CPU at rest). An idle one is closed after 2 s, before a camera's own idle timeout (seconds) could close it under
   * a request; each request sets its own timeout.
   */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8, timeout: 2_000 });
  private readonly aborts = new Set<() => void>();
  private closed = false;
  private lastStatus: number | undefined;
  private lastBody: string | undefined;
  private profileToken: string | null = null;
  private snapshotUri: string | null = null;
  /**
   * The subscription pull() and renew() talk to, numbered (0: none). A call can fail long after it was made (a
   * rebooting camera leaves a held pull to its timeout): that failure ends only the subscription it was made for,
   * not a newer one the monitor has made since.
   */
  private subscription = 0;
  private subscriptionsMade = 0;

  constructor(private readonly ep: CameraEndpoint) {
    this.cam = new Cam({
      hostname: ep.host,
      port: ep.port,
      path: ep.devicePath,
      username: ep.username,
      password: ep.password,
      timeout: ep.requestTimeoutMs,
      autoconnect: false,
      // Cameras behind NAT (or simply misconfigured) announce service addresses we cannot reach.
      preserveAddress: true,
      agent: this.agent,
      useWSSecurity: ep.auth !== 'digest',
    });
    // Replies capped in size and parsed in linear time: the library buffers anything and parses it quadratically.
    boundSoapTransport(this.cam, ep.maxReplyBytes);
    this.cam.on('rawResponse', (xml: string, status: number) => {
      this.lastStatus = status;
      this.lastBody = xml.slice(0, 512);
    });
    // An EventEmitter 'error' without a listener throws; the library emits warnings we report through results.
    this.cam.on('error', () => {});
    this.cam.on('warning', () => {});
  }

  private call<T>(what: string, timeoutMs: number, start: (cb: Callback) => void, map: (data: unknown) => T): Promise<T> {
    if (this.closed) return Promise.reject(new CameraError('closed', `${what}: session closed`));
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = (err: CameraError | null, value?: T): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.aborts.delete(abort);
        if (err) reject(err);
        else resolve(value as T);
      };
      const abort = (): void => finish(new CameraError('closed', `${what}: session closed`));
      const timer = setTimeout(
        () => finish(new CameraError('timeout', `${what}: ${this.ep.host}:${this.ep.port} did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.aborts.add(abort);
      this.lastStatus = undefined;
      this.lastBody = undefined;
      const ctx = (): { host: string; port: number; lastStatus?: number; lastBody?: string } => ({
        host: this.ep.host,
        port: this.ep.port,
        lastStatus: this.lastStatus,
        lastBody: this.lastBody,
      });
      try {
        start((err, data) => {
          if (done) return;
          if (err) return finish(classify(what, err, ctx()));
          try {
            finish(null, map(data));
          } catch (mapErr) {
            finish(new CameraError('malformed', `${what}: unexpected answer from ${this.ep.host}:${this.ep.port} (${(mapErr as Error).message})`));
          }
        });
      } catch (err) {
        finish(classify(what, err, ctx()));
      }
    });
  }

  private async readClock(): Promise<number> {
    const t = this.ep.requestTimeoutMs;
    const cameraTime = await this.call('GetSystemDateAndTime', t, (cb) => this.cam.getSystemDateAndTime(cb), (d) => {
      if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new Error('no date');
      return d.getTime();
    });
    return this.setClock(cameraTime);
  }

  /** Applies a reading of the camera's clock; returns its offset from ours. */
  private setClock(cameraTime: number): number {
    // The library only sets timeShift once and derives it from process uptime; we overwrite it on every reading
    // (cameras' clocks reset when they reboot) in one assignment, so concurrent calls never see it unset.
    this.cam.timeShift = cameraTime - process.uptime() * 1000;
    return cameraTime - Date.now();
  }

  async connect(): Promise<CameraConnection> {
    const t = this.ep.requestTimeoutMs;
    let clockOffsetMs: number;
    try {
      clockOffsetMs = await this.readClock();
    } catch (err) {
      if (err instanceof CameraError && (err.code === 'malformed' || err.code === 'not_onvif')) {
        const line = await firstLineOf(this.ep.host, this.ep.port, t);
        if (line?.startsWith('RTSP/')) throw rtspPortError('GetSystemDateAndTime', this.ep.host, this.ep.port);
      }
      throw err;
    }
    const uri = await this.call('GetCapabilities', t, (cb) => this.cam.getCapabilities(cb), () => rec(this.cam.uri));
    const device = await this.call('GetDeviceInformation', t, (cb) => this.cam.getDeviceInformation(cb), (d): DeviceInfo => {
      const o = rec(d);
      return {
        manufacturer: str(o.manufacturer),
        model: str(o.model),
        firmwareVersion: str(o.firmwareVersion),
        serialNumber: str(o.serialNumber),
      };
    });
    const profiles: MediaProfile[] = [];
    if (uri.media) {
      const raw = await this.call('GetProfiles', t, (cb) => this.cam.getProfiles(cb), (d) => (Array.isArray(d) ? d : [d]));
      for (const p of raw.slice(0, 8)) {
        const token = str(rec(rec(p).$).token);
        if (!token) continue;
        const rtspUri = await this.call(
          'GetStreamUri',
          t,
          (cb) => this.cam.getStreamUri({ protocol: 'RTSP', profileToken: token }, cb),
          (d) => withoutCredentials(str(rec(d).uri)) || null,
        ).catch((err: CameraError) => {
          if (err.code === 'fault' || err.code === 'malformed') return null;
          throw err;
        });
        profiles.push({ token, name: str(rec(p).name) || token, rtspUri });
      }
    }
    this.profileToken = profiles[0]?.token ?? null;
    this.snapshotUri = null;
    if (this.profileToken) {
      const token = this.profileToken;
      this.snapshotUri = await this.call(
        'GetSnapshotUri',
        t,
        (cb) => this.cam.getSnapshotUri({ profileToken: token }, cb),
        (d) => str(rec(d).uri) || null,
      ).catch((err: CameraError) => {
        if (err.code === 'fault' || err.code === 'malformed') return null; // no snapshots on this camera
        throw err;
      });
    }
    return { device, profiles, snapshotUri: this.snapshotUri ? withoutCredentials(this.snapshotUri) : null, clockOffsetMs, ptz: Boolean(uri.ptz) };
  }

  async check(): Promise<{ clockOffsetMs: number }> {
    const clockOffsetMs = await this.readClock();
    // One authenticated call: the clock answers anyone, so it alone would call a camera with a wrong password healthy.
    await this.call('GetDeviceInformation', this.ep.requestTimeoutMs, (cb) => this.cam.getDeviceInformation(cb), () => true);
    return { clockOffsetMs };
  }

  async snapshot(): Promise<Buffer> {
    if (this.closed) throw new CameraError('closed', 'snapshot: session closed');
    if (!this.snapshotUri) throw new CameraError('unsupported', 'snapshot: the camera offers no snapshot URI (or is not connected yet)');
    const url = new URL(this.snapshotUri);
    // Same reason as preserveAddress: the camera may announce an address we cannot reach.
    url.hostname = this.ep.host;
    const done = fetchImage(url.toString(), {
      username: this.ep.username,
      password: this.ep.password,
      timeoutMs: this.ep.snapshotTimeoutMs,
      maxBytes: this.ep.snapshotMaxBytes,
      allowBasic: this.ep.basicAuth === true,
      agent: this.agent,
      digest: (challenges, method, path) => this.cam.digestAuth(challenges, { method, path }),
    });
    return done;
  }

  async gotoPreset(token: string): Promise<void> {
    const profileToken = this.profileToken;
    if (!profileToken) throw new CameraError('unsupported', 'GotoPreset: no media profile (connect first)');
    await this.call('GotoPreset', this.ep.requestTimeoutMs, (cb) => this.cam.gotoPreset({ profileToken, preset: token }, cb), () => undefined);
  }

  async subscribe(): Promise<PullPointSubscription> {
    this.subscription = 0;
    const terminationTime = await this.call(
      'CreatePullPointSubscription',
      this.ep.requestTimeoutMs,
      (cb) => this.cam.createPullPointSubscription(cb),
      (d) => {
        const reference = rec(rec(rec(this.cam.events).subscription).subscriptionReference);
        const address: unknown = reference.address;
        if (!address || typeof address !== 'object') throw new Error('no subscription address');
        // The library reads `referenceParameters.subscriptionId` (Axis) inside a try/catch on every PullMessages and
        // Renew. Most cameras send no ReferenceParameters, so every pull threw a TypeError, and V8 parsed
        // pullMessages again for its stack trace each time (256 idle cameras: 5.1-5.7 % of a core at rest, 4.8 %
        // without). An empty object reads as "no id", as the catch did.
        reference.referenceParameters ??= {};
        // PullMessages and Renew go to this parsed URL with no agent of ours; give it ours so close() aborts them.
        (address as { agent?: Agent }).agent = this.agent;
        return terminationOf(d) ?? Date.now() + 60_000;
      },
    );
    this.subscription = ++this.subscriptionsMade;
    return { terminationTime };
  }

  async pull(): Promise<PullResult> {
    const subscription = this.subscription;
    if (!subscription) throw new CameraError('subscription_lost', 'PullMessages: no subscription');
    try {
      return await this.call(
        'PullMessages',
        this.ep.pullTimeoutMs,
        (cb) => this.cam.pullMessages({ messageLimit: PULL_MESSAGE_LIMIT }, cb),
        (d) => {
          const { notifications, dropped, overLimit } = normalizeNotifications(rec(d).notificationMessage, PULL_MESSAGE_LIMIT);
          const cameraTime = currentTimeOf(d);
          const clockOffsetMs = Number.isFinite(cameraTime) ? this.setClock(cameraTime) : null;
          return { notifications, terminationTime: terminationOf(d), dropped, overLimit, clockOffsetMs };
        },
      );
    } catch (err) {
      if (this.subscription === subscription) this.subscription = 0;
      throw err;
    }
  }

  async renew(): Promise<PullPointSubscription> {
    const subscription = this.subscription;
    if (!subscription) throw new CameraError('subscription_lost', 'Renew: no subscription');
    try {
      const terminationTime = await this.call('Renew', this.ep.requestTimeoutMs, (cb) => this.cam.renew({}, cb), (d) => terminationOf(d));
      if (terminationTime === null) throw new CameraError('malformed', 'Renew: no termination time in the answer');
      return { terminationTime };
    } catch (err) {
      if (this.subscription === subscription) this.subscription = 0;
      throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const abort of [...this.aborts]) abort();
    this.agent.destroy();
    this.cam.removeAllListeners('rawResponse');
  }
}
