/**
 * Requests to controllers over UDP: one socket, replies matched by function code and serial (and the address they
 * came from), a timeout per attempt and a few retries. Requests to one controller go one at a time (a controller
 * answers in order and a second outstanding request of the same function could not be told apart); requests to
 * different controllers never wait for each other, so one that stopped answering delays nobody else.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { CodecError } from './bytes.js';
import { encodeRequest, FUNCTION, type FunctionName, type Request } from './messages.js';
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

export interface ClientOptions {
  /** Local address to send from ("0.0.0.0" on a box, "127.0.0.1" in tests). */
  bindHost: string;
  timeoutMs: number;
  retries: number;
  /** A datagram that was not an expected reply, by reason (counted by the module). */
  onDrop?: (reason: string) => void;
}

interface Pending {
  host: string;
  resolve: (r: Response) => void;
}

export class UhppoteClient {
  private socket: Socket | undefined;
  private readonly pending = new Map<string, Pending>();
  /** Tail of each controller's request chain. */
  private readonly chains = new Map<number, Promise<unknown>>();
  /** Collectors of broadcast get-controller replies (discovery). */
  private readonly collectors = new Set<(serial: number, r: Response, from: RemoteInfo) => void>();

  constructor(private readonly opts: ClientOptions) {}

  async start(): Promise<void> {
    const s = createSocket('udp4');
    s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    s.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, this.opts.bindHost, () => resolve());
    });
    this.socket = s;
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    for (const p of this.pending.values()) p.resolve = () => {};
    this.pending.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Sends a request and resolves with the controller's reply; rejects with ControllerTimeoutError after the retries. */
  request<T extends FunctionName>(to: ControllerAddress, req: Request & { type: T }, opts: { retries?: number } = {}): Promise<ResponseOf<T>> {
    const prev = this.chains.get(to.serial) ?? Promise.resolve();
    const run = prev.catch(() => {}).then(() => this.send(to, req as Request, opts.retries ?? this.opts.retries));
    const tail = run.catch(() => {});
    this.chains.set(to.serial, tail);
    void tail.then(() => {
      if (this.chains.get(to.serial) === tail) this.chains.delete(to.serial);
    });
    return run as Promise<ResponseOf<T>>;
  }

  /** Broadcasts get-controller and collects every answer for `waitMs` (discover-controllers). */
  async broadcast(host: string, port: number, waitMs: number): Promise<{ serial: number; from: string; reply: ResponseOf<'get-controller'> }[]> {
    const s = this.socket;
    if (!s) throw new Error('client not started');
    s.setBroadcast(true);
    const found = new Map<number, { serial: number; from: string; reply: ResponseOf<'get-controller'> }>();
    const collect = (serial: number, r: Response, from: RemoteInfo): void => {
      if (r.type === 'get-controller' && !found.has(serial)) found.set(serial, { serial, from: from.address, reply: r as ResponseOf<'get-controller'> });
    };
    this.collectors.add(collect);
    try {
      s.send(encodeRequest(0, { type: 'get-controller' }), port, host);
      await new Promise((r) => setTimeout(r, waitMs));
    } finally {
      this.collectors.delete(collect);
    }
    return [...found.values()];
  }

  private async send(to: ControllerAddress, req: Request, retries: number): Promise<Response> {
    const packet = encodeRequest(to.serial, req);
    const key = `${to.serial}:${FUNCTION[req.type]}`;
    const attempts = retries + 1;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const s = this.socket;
      if (!s) throw new Error('client stopped');
      const reply = await new Promise<Response | null>((resolve) => {
        const timer = setTimeout(() => {
          if (this.pending.get(key)?.resolve === done) this.pending.delete(key);
          resolve(null);
        }, this.opts.timeoutMs);
        const done = (r: Response | null): void => {
          clearTimeout(timer);
          resolve(r);
        };
        this.pending.set(key, { host: to.host, resolve: done });
        s.send(packet, to.port, to.host, (err) => {
          if (err) done(null);
        });
      });
      if (reply) return reply;
    }
    throw new ControllerTimeoutError(to.serial, req.type, attempts);
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    let decoded: { serial: number; response: Response };
    try {
      decoded = decodeResponse(msg);
    } catch (err) {
      this.opts.onDrop?.(err instanceof CodecError ? err.code : 'unreadable');
      return;
    }
    const { serial, response } = decoded;
    for (const c of this.collectors) c(serial, response, rinfo);
    const key = `${serial}:${FUNCTION[response.type]}`;
    const p = this.pending.get(key);
    // Only the controller we asked may answer: a reply from elsewhere (or one nobody waits for) is dropped.
    if (!p || p.host !== rinfo.address) {
      if (this.collectors.size === 0) this.opts.onDrop?.(p ? 'wrong_source' : 'unexpected_reply');
      return;
    }
    this.pending.delete(key);
    p.resolve(response);
  }
}
