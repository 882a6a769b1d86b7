/**
 * What a connection may do before it has logged in, and how big its packets may be, enforced on the raw stream
 * (TCP socket or WebSocket stream) in front of Aedes:
 * - connections not logged in yet are capped in all and per source address; more are closed as they open;
 * - one that has not logged in within the connect timeout is closed (Aedes' own timer stops at the CONNECT packet,
 *   so a client that sends a CONNECT and stalls its login, or dribbles a CONNECT byte by byte, would stay);
 * - every packet's size is checked from its fixed header before it is buffered (gateway/core/mqtt-packet-limits.ts);
 * - before its login is through, a connection may send at most one CONNECT and one largest packet. Aedes stops
 *   reading while it checks a login (which login-backoff.ts may hold back for seconds) but queues, up to 42, the
 *   packets that came in with the CONNECT; this bounds that whatever the chunking, and sheds a client that
 *   pipelines more than any real device does before its CONNACK.
 *
 * The checks run in a 'data' listener added after Aedes' 'readable' one: Node then emits each chunk to it inside
 * Aedes' own read(), before the parser sees it, and the stream stays paused (no second consumer, no copy).
 */
import type { Duplex } from 'node:stream';
import { HeldCounts } from '../core/held-counts.js';
import { CONNECT_MAX_BYTES, PacketScanner, type PacketLimits } from '../core/mqtt-packet-limits.js';
import type { LimitRefusal } from './refusals.js';

export interface ConnectionGateOptions extends PacketLimits {
  connectTimeoutMs: number;
  maxPendingConnections: number;
  maxPendingPerAddress: number;
  /** Counts and logs a refusal; the gate closes the connection itself. */
  refuse: (reason: LimitRefusal, address: string, detail: string) => void;
}

interface Conn {
  address: string;
  pending: boolean;
  preLoginBytes: number;
  timer: NodeJS.Timeout | undefined;
}

export class ConnectionGate {
  private pendingCount = 0;
  private readonly pendingByAddress = new HeldCounts<string>();
  private readonly conns = new WeakMap<Duplex, Conn>();
  private readonly preLoginMaxBytes: number;

  constructor(private readonly opts: ConnectionGateOptions) {
    this.preLoginMaxBytes = CONNECT_MAX_BYTES + Math.max(opts.maxPacketBytes, opts.offlineUploadMaxBytes) + 10;
  }

  /** The largest frame MQTT over WebSocket needs: one largest packet with its fixed header. */
  get maxFrameBytes(): number {
    return Math.max(CONNECT_MAX_BYTES, this.opts.maxPacketBytes, this.opts.offlineUploadMaxBytes) + 5;
  }

  /** Passes a new connection to `handle` (Aedes), or closes it if too many are waiting to log in. */
  admit(stream: Duplex, address: string, handle: (stream: Duplex) => void): void {
    const { opts } = this;
    const fromAddress = this.pendingByAddress.of(address);
    if (this.pendingCount >= opts.maxPendingConnections || fromAddress >= opts.maxPendingPerAddress) {
      const which = fromAddress >= opts.maxPendingPerAddress ? `${fromAddress} from this address` : `${this.pendingCount} in all`;
      opts.refuse('too_many_pending', address, `already ${which} not logged in`);
      stream.destroy();
      return;
    }
    const conn: Conn = { address, pending: true, preLoginBytes: 0, timer: undefined };
    this.pendingCount++;
    this.pendingByAddress.add(address);
    this.conns.set(stream, conn);
    conn.timer = setTimeout(() => {
      conn.timer = undefined;
      if (!conn.pending || stream.destroyed) return;
      opts.refuse('connect_timeout', address, `not logged in after ${opts.connectTimeoutMs} ms`);
      stream.destroy();
    }, opts.connectTimeoutMs);
    conn.timer.unref();
    stream.once('close', () => this.settle(conn));

    handle(stream);
    const scanner = new PacketScanner(opts);
    const guard = (chunk: Buffer): void => {
      const verdict = scanner.scan(chunk);
      if (!verdict.ok) {
        stream.off('data', guard);
        opts.refuse(verdict.reason, address, verdict.detail);
        stream.destroy();
        return;
      }
      if (conn.pending && (conn.preLoginBytes += chunk.length) > this.preLoginMaxBytes) {
        stream.off('data', guard);
        opts.refuse('unauthenticated_data', address, `${conn.preLoginBytes} bytes before the login was through`);
        stream.destroy();
      }
    };
    stream.on('data', guard);
  }

  /** The connection's login went through (Aedes registered the client): it no longer counts as waiting. */
  loggedIn(stream: Duplex): void {
    const conn = this.conns.get(stream);
    if (conn) this.settle(conn);
  }

  /** Where a connection came from, as seen when it opened. */
  addressOf(stream: Duplex): string | undefined {
    return this.conns.get(stream)?.address;
  }

  /** Connections not logged in yet (for tests and metrics). */
  get pending(): number {
    return this.pendingCount;
  }

  private settle(conn: Conn): void {
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = undefined;
    if (!conn.pending) return;
    conn.pending = false;
    this.pendingCount--;
    this.pendingByAddress.release(conn.address);
  }
}
