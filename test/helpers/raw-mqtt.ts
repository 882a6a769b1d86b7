/**
 * A raw MQTT 3.1.1 connection over a real TCP socket, for tests that send what a well-behaved client library never
 * would (oversized or never-finished packets, floods) and watch what comes back byte for byte.
 */
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

export class RawMqtt {
  readonly packets: Packet[] = [];
  closed = false;
  readonly whenClosed: Promise<void>;
  private waiters: { want: (p: Packet) => boolean; resolve: (p: Packet) => void }[] = [];

  private constructor(readonly socket: Socket) {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p: Packet) => {
      const i = this.waiters.findIndex((w) => w.want(p));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(p);
      else this.packets.push(p);
    });
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', () => {}); // a reset by the broker shows as 'close'
    this.whenClosed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  static open(port: number): Promise<RawMqtt> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(new RawMqtt(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Opens a connection and logs in; resolves with the CONNACK's return code. */
  static async login(port: number, o: { clientId?: string; username?: string; password?: string } = {}): Promise<{ raw: RawMqtt; returnCode: number }> {
    const raw = await RawMqtt.open(port);
    raw.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 0,
      clientId: o.clientId ?? `raw-${Math.random().toString(36).slice(2)}`,
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: Buffer.from(o.password) } : {}),
    });
    const connack = (await raw.next('connack')) as { returnCode?: number };
    return { raw, returnCode: connack.returnCode ?? -1 };
  }

  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet));
  }

  /** Writes bytes and resolves once the socket has taken them (so nothing piles up on this side). */
  write(bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || this.socket.destroyed) return resolve();
      this.socket.write(bytes, () => resolve());
    });
  }

  /** The next packet of this kind (one already received counts), or a rejection on close or after `ms`. */
  next(cmd: Packet['cmd'], ms = 10_000, where: (p: Packet) => boolean = () => true): Promise<Packet> {
    const want = (p: Packet): boolean => p.cmd === cmd && where(p);
    const i = this.packets.findIndex(want);
    if (i >= 0) return Promise.resolve(this.packets.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${cmd} within ${ms} ms`)), ms);
      const waiter = {
        want,
        resolve: (p: Packet) => {
          clearTimeout(timer);
          resolve(p);
        },
      };
      this.waiters.push(waiter);
      void this.whenClosed.then(() => {
        if (!this.waiters.includes(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`connection closed before ${cmd}`));
      });
    });
  }

  /** Resolves true once the broker closed the connection, false if it is still open after `ms`. */
  closedWithin(ms: number): Promise<boolean> {
    return Promise.race([this.whenClosed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(this.closed), ms))]);
  }

  end(): void {
    this.socket.destroy();
  }
}

/** The MQTT variable-length encoding of a remaining length. */
export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}
