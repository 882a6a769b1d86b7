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
  Receiver: new (options: { isServer: boolean; maxPayload: number; maxFragments: number; maxBufferedChunks: number }) => FrameReader;
  Sender: { frame(data: Buffer, options: { fin: boolean; mask: boolean; opcode: number; readOnly: boolean; rsv1: boolean }): Buffer[] };
};

/** Messages kept while a sign-in is checked: the editor sends nothing until it is answered. */
const MAX_HELD = 16;

const TEXT = 0x1;
const CLOSE = 0x8;
const PING = 0x9;

/** What to do with a client's message: pass it to Node-RED, leave it out, or close the socket for a reason. */
export type Verdict<R extends string> = 'pass' | 'drop' | { close: R; answer?: string };

export interface VettedSocketOptions<R extends string> {
  /** A message's length, and the fragments it may come in (many tiny ones cost ~15 times their bytes in memory). */
  maxFrameBytes: number;
  maxFragments: number;
  /** TCP reads held while a frame is incomplete (a frame trickled in a byte at a time). */
  maxBufferedChunks: number;
  /** What Node-RED may have written that the client has not read (its debug messages, ws's answers to pings). */
  maxUnreadBytes: number;
  /** A verdict, or a promise of one (a sign-in's token check): the messages after it wait for it, in order. */
  vet: (data: Buffer, isBinary: boolean) => Verdict<R> | Promise<Verdict<R>>;
  /** The socket was closed for a verdict's reason, a frame the parser cannot follow, or output the client left unread. */
  onClose: (reason: R | 'unreadable' | 'unread') => void;
}

export class VettedSocket<R extends string = string> extends Duplex {
  private clientEnded = false;
  private closing = false;
  /** Messages that came while a verdict was awaited; null when none is. */
  private held: { data: Buffer; isBinary: boolean }[] | null = null;

  constructor(
    private readonly real: Socket,
    private readonly opts: VettedSocketOptions<R>,
  ) {
    super({ allowHalfOpen: true });
    const receiver = new Receiver({ isServer: true, maxPayload: opts.maxFrameBytes, maxFragments: opts.maxFragments, maxBufferedChunks: opts.maxBufferedChunks });
    receiver.on('message', (data, isBinary) => this.receive(data, isBinary));
    // A client that does not read what it is sent gets no more answers to its pings: ws answers every one and keeps
    // what the socket could not send (a ping flood left unread took the heap to 3.5 GB in 30 s).
    receiver.on('ping', (data) => {
      if (this.real.writableLength === 0) this.forward(data, PING);
    });
    receiver.on('conclude', (code, reason) => {
      // Closing while a verdict is awaited: what it waits on would go after the close frame, so nothing goes.
      if (this.held) return void this.real.destroy();
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
    real.on('end', () => {
      this.clientEnded = true;
      this.push(null);
    });
    real.on('error', () => this.destroy());
    real.on('close', () => this.destroy());
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.held) {
      if (this.held.length >= MAX_HELD) return this.closeFor('unreadable');
      this.held.push({ data, isBinary });
      return;
    }
    const verdict = this.opts.vet(data, isBinary);
    if (!(verdict instanceof Promise)) return this.apply(verdict, data);
    this.held = [];
    verdict
      .then((v) => {
        const rest = this.held ?? [];
        this.held = null;
        this.apply(v, data);
        while (rest.length > 0 && !this.held && !this.closing) {
          const m = rest.shift()!;
          this.receive(m.data, m.isBinary);
        }
        // Behind another verdict now awaited (set by receive(), which TypeScript cannot see here), in order.
        (this.held as typeof rest | null)?.push(...rest);
      })
      // A check that failed, or a fault in what came after it: the socket goes, the process stays.
      .catch(() => this.closeFor('unreadable'));
  }

  private apply(verdict: Verdict<R>, data: Buffer): void {
    if (verdict === 'pass') this.forward(data, TEXT);
    else if (verdict !== 'drop') this.closeFor(verdict.close, verdict.answer);
  }

  private forward(data: Buffer, opcode: number): void {
    // Nothing after a close of the gateway's (later frames of the same chunk are parsed in the same turn), nor after
    // the client's end: a push after it is an error, and before ws has taken the socket (Node-RED checks a bearer
    // header first) nobody would be listening for it.
    if (this.closing || this.destroyed || this.clientEnded) return;
    const frame = Sender.frame(Buffer.from(data), { fin: true, mask: true, opcode, readOnly: false, rsv1: false });
    if (!this.push(Buffer.concat(frame))) this.real.pause();
  }

  /** Closes the client's socket; with `answer`, first sends it as a text message and a close frame, as ws would. */
  private closeFor(reason: R | 'unreadable' | 'unread', answer?: string): void {
    if (this.closing) return;
    this.closing = true;
    this.opts.onClose(reason);
    if (answer === undefined) return void this.real.destroy();
    const text = Sender.frame(Buffer.from(answer), { fin: true, mask: false, opcode: TEXT, readOnly: true, rsv1: false });
    const close = Sender.frame(Buffer.alloc(0), { fin: true, mask: false, opcode: CLOSE, readOnly: true, rsv1: false });
    this.real.end(Buffer.concat([...text, ...close]), () => this.real.destroy());
  }

  override _read(): void {
    this.real.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    // Handed on at once, so what the client has not read waits in one place, the real socket, and is measured there
    // on every write: Node-RED sends the debug sidebar every 50 ms whether or not the tab reads it.
    if (!this.closing) this.real.write(chunk);
    if (this.real.writableLength > this.opts.maxUnreadBytes) this.closeFor('unread');
    done();
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
