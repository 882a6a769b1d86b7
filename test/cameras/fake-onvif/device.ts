/**
 * A fake ONVIF camera for tests: real SOAP 1.2 over HTTP on loopback, the way the onvif library and a camera talk.
 * Device, media, PTZ and event services; PullPoint subscriptions with a termination time that really expire;
 * WS-Security UsernameToken checked against the camera's own (possibly skewed) clock; HTTP Digest; a JPEG
 * snapshot. It can reboot (forgetting subscriptions), go down and come back on the same port, answer garbage,
 * or accept connections and never answer.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { encodeJpeg } from '../../../drivers/onvif/jpeg.js';
import { challenge, digestOk, wsSecurityOk } from './auth.js';
import { capabilities, deviceInformation, duration, envelope, fault, mediaUri, NS, profiles, systemDateAndTime, tag, xmlnsBomb } from './soap.js';

export type FakeAuth = 'none' | 'ws-security' | 'digest';
/**
 * `huge`: answers every SOAP call with a 50 MB reply (chunked, as fast as the client reads it).
 * `xmlns-bomb`: answers with a 400 KB reply full of namespace declarations whose `=` never comes: the onvif
 * library's own namespace-stripping regex rescans the rest of the reply from each one (quadratic: ~10 s here).
 */
/** `pull-fault`: every PullMessages fails (the subscription itself works), as a camera with a broken event queue. */
export type FakeMode = 'normal' | 'malformed' | 'hang' | 'huge' | 'xmlns-bomb' | 'pull-fault';

export interface FakeDeviceOptions {
  username?: string;
  password?: string;
  /** How SOAP calls other than GetSystemDateAndTime must authenticate. */
  auth?: FakeAuth;
  /** How the snapshot URI authenticates. */
  snapshotAuth?: 'none' | 'basic' | 'digest';
  /** Camera clock minus real time. */
  clockOffsetMs?: number;
  /** How long a PullMessages is held when there is nothing to say. */
  pullHoldMs?: number;
  /** Overrides the termination time the client asks for (seconds). */
  terminationS?: number;
  manufacturer?: string;
  model?: string;
  ptz?: boolean;
  /** The RTSP port GetStreamUri names (test/video's RTSP server). */
  rtspPort?: number;
}

interface Subscription {
  id: string;
  terminatesAt: number; // real time
  queue: string[];
  waiter: (() => void) | null;
}

export class FakeOnvifDevice {
  port = 0;
  mode: FakeMode = 'normal';
  readonly opts: Required<FakeDeviceOptions>;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private subs = new Map<string, Subscription>();
  private readonly nonces = new Set<string>();
  private readonly jpeg: Buffer;
  readonly stats = {
    actions: new Map<string, number>(),
    /** The SOAP 1.2 action each request named in its Content-Type, by the operation its body holds (the last one). */
    headerActions: new Map<string, string>(),
    /** Bytes of `huge` replies the client took before it hung up, and how many of those replies were cut short. */
    hugeBytesSent: 0,
    hugeRepliesCut: 0,
    authFailures: 0,
    subscriptionsCreated: 0,
    renewals: 0,
    unsubscribes: 0,
    presets: [] as string[],
    snapshots: 0,
    /** TCP connections accepted. */
    connections: 0,
  };

  constructor(opts: FakeDeviceOptions = {}) {
    this.opts = {
      username: 'admin',
      password: 'secret',
      auth: 'ws-security',
      snapshotAuth: 'digest',
      clockOffsetMs: 0,
      pullHoldMs: 300,
      terminationS: 0,
      manufacturer: 'Fakevision',
      model: 'FV-100',
      ptz: true,
      rtspPort: 554,
      ...opts,
    };
    const w = 64;
    const h = 48;
    const rgb = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) rgb.set([(i * 7) % 256, 120, 200], i * 3);
    this.jpeg = encodeJpeg(rgb, w, h);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get cameraNow(): number {
    return Date.now() + this.opts.clockOffsetMs;
  }

  count(action: string): number {
    return this.stats.actions.get(action) ?? 0;
  }

  /** Listens on `port` (0 = any; the previous port when restarting after stop()). */
  async start(port = this.port): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.stats.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Like pulling the plug: connections die, nothing listens; subscriptions are lost with the power. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.reboot();
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A reboot: same address, every subscription forgotten. */
  reboot(): void {
    for (const sub of this.subs.values()) sub.waiter?.();
    this.subs.clear();
  }

  activeSubscriptions(): number {
    const now = Date.now();
    return [...this.subs.values()].filter((s) => s.terminatesAt > now).length;
  }

  /** Queues a notification for every live subscription. */
  emit(topic: string, data: Record<string, string>, operation: 'Changed' | 'Initialized' = 'Changed'): void {
    const items = Object.entries(data)
      .map(([k, v]) => `<tt:SimpleItem Name="${k}" Value="${v}"/>`)
      .join('');
    const msg =
      '<wsnt:NotificationMessage>' +
      `<wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">${topic}</wsnt:Topic>` +
      `<wsnt:Message><tt:Message UtcTime="${new Date(this.cameraNow).toISOString()}" PropertyOperation="${operation}">` +
      '<tt:Source><tt:SimpleItem Name="VideoSourceConfigurationToken" Value="vsc_1"/></tt:Source>' +
      `<tt:Data>${items}</tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`;
    for (const sub of this.subs.values()) {
      sub.queue.push(msg);
      sub.waiter?.();
    }
  }

  /** Queues a notification with no topic: what a buggy firmware sends. */
  emitInvalid(): void {
    for (const sub of this.subs.values()) {
      sub.queue.push('<wsnt:NotificationMessage><wsnt:Message><tt:Message/></wsnt:Message></wsnt:NotificationMessage>');
      sub.waiter?.();
    }
  }

  private bump(action: string): void {
    this.stats.actions.set(action, this.count(action) + 1);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.mode === 'hang') return; // the socket stays open, nothing is ever written
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0]!;

    if (req.method === 'GET' && path === '/snapshot.jpg') return this.snapshot(req, res);
    if (req.method !== 'POST') return void res.writeHead(405).end();
    if (this.mode === 'huge') return this.huge(res);
    if (this.mode === 'xmlns-bomb') {
      res.writeHead(200, { 'content-type': 'application/soap+xml; charset=utf-8' });
      return void res.end(xmlnsBomb());
    }
    if (this.mode === 'malformed') {
      res.writeHead(200, { 'content-type': 'application/soap+xml' });
      return void res.end('<?xml version="1.0"?><s:Envelope><s:Body><tds:GetDeviceInformationResponse><broken');
    }
    const action = /<(?:[\w-]+:)?Body[^>]*>\s*<(?:[\w-]+:)?(\w+)/.exec(body)?.[1] ?? 'unknown';
    this.bump(action);
    const named = /action="([^"]*)"/.exec(req.headers['content-type'] ?? '')?.[1];
    if (named !== undefined) this.stats.headerActions.set(action, named);

    if (action !== 'GetSystemDateAndTime' && !this.authorized(req, res, body)) return;
    const reply = (xml: string, status = 200): void => {
      res.writeHead(status, { 'content-type': 'application/soap+xml; charset=utf-8' });
      res.end(xml);
    };
    const t = (ms: number): string => new Date(ms).toISOString();
    switch (action) {
      case 'GetSystemDateAndTime':
        return reply(systemDateAndTime(this.cameraNow));
      case 'GetCapabilities':
        return reply(capabilities(this.url, this.opts.ptz));
      case 'GetDeviceInformation':
        return reply(deviceInformation(this.opts.manufacturer, this.opts.model));
      case 'GetProfiles':
        return reply(profiles(this.opts.ptz));
      case 'GetStreamUri':
        return reply(mediaUri(action, `rtsp://127.0.0.1:${this.opts.rtspPort}/${tag(body, 'ProfileToken') ?? 'profile_1'}`));
      case 'GetSnapshotUri':
        return reply(mediaUri(action, `${this.url}/snapshot.jpg`));
      case 'GotoPreset':
        this.stats.presets.push(tag(body, 'PresetToken') ?? '');
        return reply(envelope('<tptz:GotoPresetResponse/>'));
      case 'CreatePullPointSubscription': {
        const id = randomBytes(6).toString('hex');
        const seconds = this.opts.terminationS || duration(tag(body, 'InitialTerminationTime')) || 60;
        const sub: Subscription = { id, terminatesAt: Date.now() + seconds * 1000, queue: [], waiter: null };
        this.subs.set(id, sub);
        this.stats.subscriptionsCreated++;
        return reply(
          envelope(
            '<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference>' +
              `<wsa:Address>${this.url}/onvif/subscription/${id}</wsa:Address></tev:SubscriptionReference>` +
              `<wsnt:CurrentTime>${t(this.cameraNow)}</wsnt:CurrentTime>` +
              `<wsnt:TerminationTime>${t(sub.terminatesAt + this.opts.clockOffsetMs)}</wsnt:TerminationTime>` +
              '</tev:CreatePullPointSubscriptionResponse>',
          ),
        );
      }
      case 'PullMessages':
      case 'Renew':
      case 'Unsubscribe': {
        const id = /\/onvif\/subscription\/(\w+)$/.exec(path)?.[1] ?? '';
        const sub = this.subs.get(id);
        if (!sub || sub.terminatesAt <= Date.now()) {
          this.subs.delete(id);
          return reply(fault('s:Sender', 'wsrf-rw:ResourceUnknownFault', 'ResourceUnknownFault: no such subscription'), 400);
        }
        if (action === 'PullMessages' && this.mode === 'pull-fault') return reply(fault('s:Receiver', 'ter:Action', 'event queue failure'), 500);
        if (action === 'Unsubscribe') {
          this.stats.unsubscribes++;
          this.subs.delete(id);
          return reply(envelope('<wsnt:UnsubscribeResponse/>'));
        }
        if (action === 'Renew') {
          this.stats.renewals++;
          const seconds = this.opts.terminationS || duration(tag(body, 'TerminationTime')) || 60;
          sub.terminatesAt = Date.now() + seconds * 1000;
          return reply(
            envelope(
              `<wsnt:RenewResponse><wsnt:TerminationTime>${t(sub.terminatesAt + this.opts.clockOffsetMs)}</wsnt:TerminationTime>` +
                `<wsnt:CurrentTime>${t(this.cameraNow)}</wsnt:CurrentTime></wsnt:RenewResponse>`,
            ),
          );
        }
        if (sub.queue.length === 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.opts.pullHoldMs);
            sub.waiter = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          sub.waiter = null;
        }
        if (!this.subs.has(id)) {
          // Rebooted while the request was held: the connection dies with it.
          return void res.destroy();
        }
        const messages = sub.queue.splice(0);
        return reply(
          envelope(
            `<tev:PullMessagesResponse><tev:CurrentTime>${t(this.cameraNow)}</tev:CurrentTime>` +
              `<tev:TerminationTime>${t(sub.terminatesAt + this.opts.clockOffsetMs)}</tev:TerminationTime>${messages.join('')}</tev:PullMessagesResponse>`,
          ),
        );
      }
      default:
        return reply(fault('s:Receiver', 'ter:ActionNotSupported', `${action} is not supported`), 400);
    }
  }

  /** 50 MB of a SOAP reply that never ends its Body, written as fast as the client takes it; stops when it hangs up. */
  private async huge(res: ServerResponse): Promise<void> {
    const total = 50 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, ' ');
    res.writeHead(200, { 'content-type': 'application/soap+xml; charset=utf-8' });
    res.write(`<?xml version="1.0"?><s:Envelope ${NS}><s:Body><tds:GetSystemDateAndTimeResponse>`);
    let sent = 0;
    let cut = false;
    res.on('close', () => {
      if (sent < total) cut = true;
    });
    while (sent < total && !cut && !res.destroyed) {
      sent += chunk.length;
      this.stats.hugeBytesSent += chunk.length;
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const go = (): void => {
            res.off('drain', go);
            res.off('close', go);
            resolve();
          };
          res.on('drain', go);
          res.on('close', go);
        });
      }
    }
    if (cut || res.destroyed) this.stats.hugeRepliesCut++;
    else res.end('</tds:GetSystemDateAndTimeResponse></s:Body></s:Envelope>');
  }

  /** WS-Security UsernameToken (PasswordDigest, Created within 5 s of the camera's clock) or HTTP Digest. */
  private authorized(req: IncomingMessage, res: ServerResponse, body: string): boolean {
    const { auth } = this.opts;
    if (auth === 'none') return true;
    if (auth === 'digest') {
      if (this.digestOk(req)) return true;
      this.stats.authFailures++;
      this.challenge(res, 'Digest');
      return false;
    }
    const ok = wsSecurityOk(body, this.opts.username, this.opts.password, this.cameraNow);
    if (ok) return true;
    this.stats.authFailures++;
    res.writeHead(400, { 'content-type': 'application/soap+xml; charset=utf-8' });
    res.end(fault('s:Sender', 'ter:NotAuthorized', 'Sender not Authorized'));
    return false;
  }

  private challenge(res: ServerResponse, scheme: 'Digest' | 'Basic'): void {
    challenge(res, scheme, this.nonces);
  }

  private digestOk(req: IncomingMessage): boolean {
    return digestOk(req, this.opts.username, this.opts.password, this.nonces);
  }

  /** Bytes appended to the snapshot JPEG (a camera sending far more than a picture); sent without a Content-Length. */
  snapshotPadding = 0;

  private snapshot(req: IncomingMessage, res: ServerResponse): void {
    const mode = this.opts.snapshotAuth;
    if (mode === 'digest' && !this.digestOk(req)) return this.challenge(res, 'Digest');
    if (mode === 'basic') {
      const expected = `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return this.challenge(res, 'Basic');
    }
    this.stats.snapshots++;
    if (this.snapshotPadding > 0) {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      res.write(this.jpeg);
      const chunk = Buffer.alloc(64 * 1024);
      let left = this.snapshotPadding;
      const pump = (): void => {
        while (left > 0 && !res.destroyed) {
          left -= chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      res.on('error', () => {});
      return pump();
    }
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': this.jpeg.length });
    res.end(this.jpeg);
  }
}

/** A TCP socket that accepts connections and never says anything. */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const { createServer: createTcp } = await import('node:net');
  const sockets = new Set<Socket>();
  const server = createTcp((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
