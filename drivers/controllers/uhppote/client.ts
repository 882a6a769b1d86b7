/**
 * Requests to controllers over UDP, a timeout per attempt and a few retries. Requests to one controller go one at a
 * time (a controller answers in order), its event log's reads after the others (request-lanes.ts); requests to
 * different controllers never wait for each other, so one that stopped answering delays nobody else.
 *
 * A reply is believed only from the controller's own address and port, on a socket opened for that one attempt (a
 * fresh random source port each time, as DNS resolvers do): a device on the LAN forging the controller's address has
 * to guess the port and beat the real reply. One long-lived socket let an attacker find the port once (a scan took
 * 3 s) and then race forged get-event replies in: a swipe was recorded for a child who never came, in place of a real
 * one (an attacker review, 2026-12-06). For the replies the event log is read by (`VERIFIED`), the socket also listens
 * `settleMs` after the first: the real controller answers too, so two different replies mean one was forged, and the
 * request fails with ControllerForgeryError rather than record either. The card list's requests (`CHECKED_LATER`) are
 * listened to as long, beside the next request, and their verdict comes after the reply (requestChecked).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { CodecError } from './bytes.js';
import { encodeRequest, type FunctionName, type Request } from './messages.js';
import { RequestLanes, type Lane } from './request-lanes.js';
import { decodeResponse, type Response } from './responses.js';

export interface ControllerAddress {
  serial: number;
  host: string;
  port: number;
}

export type ResponseOf<T extends FunctionName> = Response & { type: T };

export class ControllerTimeoutError extends Error {
  readonly code = 'timeout';
  constructor(
    readonly serial: number,
    readonly request: FunctionName,
    attempts: number,
  ) {
    super(`controller ${serial} did not answer ${request} (${attempts} attempt${attempts === 1 ? '' : 's'})`);
    this.name = 'ControllerTimeoutError';
  }
}

export class ControllerForgeryError extends Error {
  readonly code = 'forged';
  constructor(
    readonly serial: number,
    readonly request: FunctionName,
  ) {
    super(`controller ${serial}: two different replies to one ${request}; neither is believed`);
    this.name = 'ControllerForgeryError';
  }
}

export interface ClientOptions {
  /** Local address to send from ("0.0.0.0" on a box, "127.0.0.1" in tests). */
  bindHost: string;
  timeoutMs: number;
  retries: number;
  /** How long a verified request listens on after its first reply for a second, different one (ms). */
  settleMs?: number;
  /** A datagram that was not an expected reply, by reason (counted by the module). */
  onDrop?: (reason: string) => void;
}

/**
 * Requests whose replies decide what is recorded from a controller's log, and what the gateway believes of its doors'
 * modes: a forged get-door-control reply ("controlled") hid a door set normally open from door-modes.ts for as long as
 * the forger kept racing, and a forged set-door-control reply had the gateway believe a door set back. Cost: door-modes.ts
 * reads at most 4 doors a status poll (10 s), each read now waiting settleMs (20 ms) after its reply: up to 80 ms of
 * the controller's requests' time a poll, under 1%; a set (only for a door found otherwise) 20 ms more. get-cards: a
 * forged count hid a card put during a lockdown (lockdown.ts checkCount); one a status poll then, and one a sync run.
 */
const VERIFIED = new Set<FunctionName>(['get-status', 'get-event', 'get-door-control', 'set-door-control', 'get-cards']);

/**
 * Requests checked in the background (requestChecked): the card list's reads and writes. A forged get-card-at-index
 * reply hid a card record changed from the LAN (every door, any time) from a full read, which found nothing to do; a
 * forged "ok" to a put-card the controller refused (a full store) had the gateway believe the card written, and the
 * child was refused at the gate with the API saying in sync. Checked like VERIFIED, each such request would wait
 * settleMs: 5,000 cards × 20 ms = 100 s more for each full read, each full load and each lockdown's cut (the doors
 * normally closed to security staff meanwhile). The controller answers requests in order, so the next request need
 * not wait: the reply is taken at once and the socket listens on for settleMs beside the next requests; the card sync
 * (sync.ts) acts on what it read or wrote only once every verdict is in: the whole run costs settleMs once.
 * (get-cards, one a run and one a status poll during a lockdown, is in VERIFIED.)
 */
export type CheckedType = 'get-card-at-index' | 'get-card' | 'put-card' | 'delete-card' | 'set-time-profile';
const CHECKED_LATER: ReadonlySet<string> = new Set<CheckedType>(['get-card-at-index', 'get-card', 'put-card', 'delete-card', 'set-time-profile']);

/** What the background check of a reply found: no second, different reply (`genuine`), one (`forged`), or the client stopped first. */
export type Verdict = 'genuine' | 'forged' | 'stopped';

export interface Checked<T extends FunctionName> {
  reply: ResponseOf<T>;
  /** Resolves settleMs after the reply (never rejects). */
  verdict: Promise<Verdict>;
}

interface Attempted {
  response: Response;
  verdict: Promise<Verdict>;
}

export class UhppoteClient {
  /** For broadcasts (discovery) only; requests each open their own. */
  private socket: Socket | undefined;
  private started = false;
  private readonly open = new Set<Socket>();
  /** Each controller's requests, one at a time, its event log's reads after the rest (request-lanes.ts). */
  private readonly lanes = new RequestLanes();

  constructor(private readonly opts: ClientOptions) {}

  async start(): Promise<void> {
    this.started = true;
  }

  async stop(): Promise<void> {
    this.started = false;
    const all = [...this.open, ...(this.socket ? [this.socket] : [])];
    this.open.clear();
    this.socket = undefined;
    await Promise.all(all.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  /**
   * Sends a request and resolves with the controller's reply; rejects with ControllerTimeoutError after the retries.
   * `lane: 'second'` waits for every other request to the controller (request-lanes.ts).
   */
  request<T extends FunctionName>(to: ControllerAddress, req: Request & { type: T }, opts: { retries?: number; lane?: Lane } = {}): Promise<ResponseOf<T>> {
    return this.queued(to, req, opts.retries, false, opts.lane).then((a) => a.response as ResponseOf<T>);
  }

  /**
   * A CHECKED_LATER request: resolves with the first reply at once (the controller's next request goes on the wire),
   * and its verdict settleMs later. Whoever acts on the reply waits for the verdict first.
   */
  requestChecked<T extends CheckedType>(to: ControllerAddress, req: Request & { type: T }, opts: { retries?: number } = {}): Promise<Checked<T>> {
    return this.queued(to, req, opts.retries, true).then((a) => ({ reply: a.response as ResponseOf<T>, verdict: a.verdict }));
  }

  private queued(to: ControllerAddress, req: Request, retries: number | undefined, later: boolean, lane: Lane = 'first'): Promise<Attempted> {
    return this.lanes.run(to.serial, lane, () => this.send(to, req, retries ?? this.opts.retries, later));
  }

  /** Broadcasts get-controller and collects every answer for `waitMs` (discover-controllers). */
  async broadcast(host: string, port: number, waitMs: number): Promise<{ serial: number; from: string; reply: ResponseOf<'get-controller'> }[]> {
    if (!this.started) throw new Error('client not started');
    const s = (this.socket ??= await this.bound());
    s.setBroadcast(true);
    const found = new Map<number, { serial: number; from: string; reply: ResponseOf<'get-controller'> }>();
    const collect = (msg: Buffer, from: RemoteInfo): void => {
      const d = this.decode(msg);
      if (d?.response.type === 'get-controller' && !found.has(d.serial)) found.set(d.serial, { serial: d.serial, from: from.address, reply: d.response as ResponseOf<'get-controller'> });
    };
    s.on('message', collect);
    try {
      s.send(encodeRequest(0, { type: 'get-controller' }), port, host);
      await new Promise((r) => setTimeout(r, waitMs));
    } finally {
      s.off('message', collect);
    }
    return [...found.values()];
  }

  private async bound(): Promise<Socket> {
    const s = createSocket('udp4');
    s.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, this.opts.bindHost, () => resolve());
    });
    return s;
  }

  private async send(to: ControllerAddress, req: Request, retries: number, later: boolean): Promise<Attempted> {
    const packet = encodeRequest(to.serial, req);
    const attempts = retries + 1;
    const settleMs = VERIFIED.has(req.type) || (later && CHECKED_LATER.has(req.type)) ? (this.opts.settleMs ?? 0) : 0;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (!this.started) throw new Error('client stopped');
      const reply = await this.attempt(to, req, packet, settleMs, later);
      if (reply) return reply;
    }
    throw new ControllerTimeoutError(to.serial, req.type, attempts);
  }

  /**
   * One attempt on a socket of its own: the reply, null on a timeout. Checked now (`later` false), it resolves
   * settleMs after the reply and rejects when two replies differ; checked later, it resolves at the reply and the
   * socket listens on for settleMs, the verdict saying what came.
   */
  private async attempt(to: ControllerAddress, req: Request, packet: Buffer, settleMs: number, later: boolean): Promise<Attempted | null> {
    const s = await this.bound();
    // Stopped while binding: stop() did not see this socket, and no reply may be taken after stop.
    if (!this.started) {
      s.close();
      return null;
    }
    this.open.add(s);
    const close = (): void => {
      if (this.open.delete(s)) s.close(); // else stop() closed it
    };
    let listening = false;
    try {
      return await new Promise<Attempted | null>((resolve, reject) => {
        let first: { bytes: Buffer; response: Response } | undefined;
        /** Set once a reply checked later was handed out: its verdict. */
        let judge: ((v: Verdict) => void) | undefined;
        let timer = setTimeout(() => resolve(null), this.opts.timeoutMs);
        // Closed by stop(): the request fails now (send() sees the client stopped), not at its timeout, and a reply
        // waiting out its settle time is not believed either.
        s.once('close', () => {
          clearTimeout(timer);
          resolve(null);
          judge?.('stopped');
        });
        s.on('message', (msg, rinfo) => {
          // Only the controller we asked, from its own port, may answer; anything else is dropped.
          if (rinfo.address !== to.host || rinfo.port !== to.port) return this.opts.onDrop?.('wrong_source');
          const d = this.decode(msg);
          if (!d) return;
          if (d.serial !== to.serial || d.response.type !== req.type) return this.opts.onDrop?.('unexpected_reply');
          if (first) {
            if (!first.bytes.equals(msg)) {
              clearTimeout(timer);
              if (judge) judge('forged');
              else reject(new ControllerForgeryError(to.serial, req.type));
            }
            return;
          }
          first = { bytes: Buffer.from(msg), response: d.response };
          clearTimeout(timer);
          if (settleMs <= 0) return resolve({ response: d.response, verdict: Promise.resolve('genuine') });
          const genuine = { response: d.response, verdict: Promise.resolve<Verdict>('genuine') };
          if (!later) {
            timer = setTimeout(() => resolve(genuine), settleMs);
            return;
          }
          listening = true;
          const verdict = new Promise<Verdict>((r) => (judge = r));
          timer = setTimeout(() => judge!('genuine'), settleMs);
          void verdict.then(() => {
            clearTimeout(timer);
            close();
          });
          resolve({ response: d.response, verdict });
        });
        s.send(packet, to.port, to.host, (err) => {
          if (err) {
            clearTimeout(timer);
            resolve(null);
          }
        });
      });
    } finally {
      if (!listening) close();
    }
  }

  private decode(msg: Buffer): { serial: number; response: Response } | undefined {
    try {
      return decodeResponse(msg);
    } catch (err) {
      this.opts.onDrop?.(err instanceof CodecError ? err.code : 'unreadable');
      return undefined;
    }
  }
}
