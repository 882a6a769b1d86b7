/**
 * What Node-RED's editor websocket server (ws 7, in comms.js) gets instead of the client's socket: a stream that
 * carries the gateway's answers out unchanged, and in only the client frames a `vet` function let through,
 * re-framed whole. Node-RED acts on whatever a client sends and a frame it read once cannot be taken back: a socket
 * closed at a hostile frame still had the rest of the same TCP chunk parsed and acted on (500 sign-ins in one write
 * left 499 dead connections in its list; `{"auth": {"toString": 1}}` threw in its token store and the process
 * exited). Reading in front of it, nothing Node-RED sees has not been vetted first.
 *
 * The client's frames are parsed by ws 8's Receiver (masked, at most `maxFrameBytes`), the vetted messages framed
 * again masked (ws 7 as a server refuses unmasked frames); pings go on so that ws 7 answers them, and a close frame
 * so that it closes as the client asked. The socket methods ws calls (setTimeout, setNoDelay) go to the real socket.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import * as ws from 'ws';

/** ws 8's frame parser and framer: exported at run time (`Receiver`, `Sender`), not declared by @types/ws. */
interface FrameReader {
  write(chunk: Buffer): boolean;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  on(event: 'conclude', listener: (code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}
const { Receiver, Sender } = ws as unknown as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => FrameReader;
  Sender: { frame(data: Buffer, options: { fin: boolean; mask: boolean; opcode: number; readOnly: boolean; rsv1: boolean }): Buffer[] };
};

const TEXT = 0x1;
const CLOSE = 0x8;
const PING = 0x9;

/** What to do with a client's message: pass it to Node-RED, leave it out, or close the socket for a reason. */
export type Verdict<R extends string> = 'pass' | 'drop' | { close: R };

export interface VettedSocketOptions<R extends string> {
  maxFrameBytes: number;
  vet: (data: Buffer, isBinary: boolean) => Verdict<R>;
  /** The socket was closed for a verdict's reason, or for a frame the parser cannot follow. */
  onClose: (reason: R | 'unreadable') => void;
}

export class VettedSocket<R extends string = string> extends Duplex {
  constructor(
    private readonly real: Socket,
    private readonly opts: VettedSocketOptions<R>,
  ) {
    super({ allowHalfOpen: true });
    const receiver = new Receiver({ isServer: true, maxPayload: opts.maxFrameBytes });
    receiver.on('message', (data, isBinary) => {
      const verdict = opts.vet(data, isBinary);
      if (verdict === 'pass') this.forward(data, TEXT);
      else if (verdict !== 'drop') this.closeFor(verdict.close);
    });
    receiver.on('ping', (data) => this.forward(data, PING));
    receiver.on('conclude', (code, reason) => {
      const body = Buffer.alloc(code === 1005 ? 0 : 2 + reason.length);
      if (code !== 1005) {
        body.writeUInt16BE(code, 0);
        reason.copy(body, 2);
      }
      this.forward(body, CLOSE);
    });
    // Malformed, compressed, unmasked or too large: nothing of it reaches Node-RED.
    receiver.on('error', () => this.closeFor('unreadable'));
    real.on('data', (chunk: Buffer) => receiver.write(chunk));
    real.on('end', () => this.push(null));
    real.on('error', () => this.destroy());
    real.on('close', () => this.destroy());
  }

  private forward(data: Buffer, opcode: number): void {
    if (this.destroyed) return;
    const frame = Sender.frame(Buffer.from(data), { fin: true, mask: true, opcode, readOnly: false, rsv1: false });
    if (!this.push(Buffer.concat(frame))) this.real.pause();
  }

  private closeFor(reason: R | 'unreadable'): void {
    if (this.real.destroyed) return;
    this.opts.onClose(reason);
    this.real.destroy();
  }

  override _read(): void {
    this.real.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.real.write(chunk, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.real.end(done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.real.destroy();
    done(err);
  }

  /** ws sets these on the socket it is given. */
  setTimeout(ms: number): this {
    this.real.setTimeout(ms);
    return this;
  }

  setNoDelay(noDelay?: boolean): this {
    this.real.setNoDelay(noDelay);
    return this;
  }

  /** Read by Node-RED's runtime to tell a handled upgrade (bytes answered) from one nobody took. */
  get bytesWritten(): number {
    return this.real.bytesWritten;
  }
}
