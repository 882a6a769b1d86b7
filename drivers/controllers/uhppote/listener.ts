/**
 * The socket controllers push their events to (the address set with set-listener). Only status packets from a
 * configured controller's serial, sent from that controller's address, are taken; everything else is counted by
 * reason and dropped. A controller (or someone pretending to be one) sending faster than `maxPerSecond` has the
 * excess dropped: nothing is lost by that, the controller's own log is read back from the last recorded index.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { CodecError } from './bytes.js';
import { setReceiveBuffer } from './listener-buffer.js';
import { decodeResponse, type ControllerStatus } from './responses.js';

export interface ListenerOptions {
  host: string;
  port: number;
  /** serial → the host its packets must come from. */
  sources: ReadonlyMap<number, string>;
  maxPerSecond: number;
  /** The socket's receive buffer (listener-buffer.ts RECEIVE_BUFFER_BYTES). */
  receiveBufferBytes: number;
  /** The kernel granted less than asked (Linux: net.core.rmem_max), or refused to set it. */
  onReceiveBufferShort: (asked: number, granted: number | undefined, err?: unknown) => void;
  onStatus: (serial: number, status: ControllerStatus) => void;
  onDrop: (reason: string, detail: string) => void;
}

export class EventListener {
  private socket: Socket | undefined;
  private readonly buckets = new Map<number, { second: number; n: number }>();

  constructor(private readonly opts: ListenerOptions) {}

  /** The port actually bound (the config may say 0 in tests). */
  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  /** The address and port bound, once started. */
  get bound(): { address: string; port: number } | undefined {
    return this.socket?.address();
  }

  async start(): Promise<void> {
    const s = createSocket({ type: 'udp4', reuseAddr: false });
    s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    s.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(this.opts.port, this.opts.host, () => resolve());
    });
    // After bind: libuv has no socket to set it on before. Short of it, pushes are lost sooner, not refused.
    try {
      const { asked, granted } = setReceiveBuffer(s, this.opts.receiveBufferBytes);
      if (granted < asked) this.opts.onReceiveBufferShort(asked, granted);
    } catch (err) {
      this.opts.onReceiveBufferShort(this.opts.receiveBufferBytes, undefined, err);
    }
    this.socket = s;
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    let serial: number;
    let status: ControllerStatus;
    try {
      const d = decodeResponse(msg);
      if (d.response.type !== 'get-status') return this.opts.onDrop('not_an_event', `function ${d.response.type} from ${rinfo.address}`);
      serial = d.serial;
      status = d.response.status;
    } catch (err) {
      return this.opts.onDrop(err instanceof CodecError ? err.code : 'unreadable', `${msg.length} bytes from ${rinfo.address}`);
    }
    const expected = this.opts.sources.get(serial);
    if (expected === undefined) return this.opts.onDrop('unknown_controller', `serial ${serial} from ${rinfo.address}`);
    if (expected !== rinfo.address) return this.opts.onDrop('wrong_source', `serial ${serial} from ${rinfo.address}, configured at ${expected}`);
    const second = Math.floor(Date.now() / 1000);
    let b = this.buckets.get(serial);
    if (!b || b.second !== second) this.buckets.set(serial, (b = { second, n: 0 }));
    if (++b.n > this.opts.maxPerSecond) return this.opts.onDrop('rate_limited', `serial ${serial}`);
    this.opts.onStatus(serial, status);
  }
}
