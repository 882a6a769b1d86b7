/**
 * The Node-RED editor's websocket (`<editor root>/comms`): Node-RED reads only the client frames the gateway lets
 * through (vetted-socket.ts), and the socket ends within `recheckMs` of the session it signed in with.
 *
 * Node-RED checks a comms connection's token once, when it signs in (an `{"auth": token}` frame, or a bearer header on
 * the upgrade request), and after that closes it only when one of its *own* sessions expires. Editor tokens are gateway
 * sessions (auth.ts), which end on logout, expiry, a new password or role, or the user's removal, so without this an
 * open editor tab kept receiving the debug sidebar and node status (children's names and cards in a tap's message)
 * on a token that no longer signs anyone in; a demoted or removed user's tab too. So the gateway remembers the token
 * the connection signed in with, checks it again with the same `tokens` Node-RED asks, and closes the socket once it
 * is refused.
 *
 * The editor sends a few small JSON objects: one sign-in, `{subscribe}`, `{topic, data}`. Anything else is closed,
 * each for what it did to Node-RED 4.1 when it got there:
 * - a second sign-in: Node-RED lists the connection again at every sign-in and unlists it once when it closes (one
 *   socket signing in 20,000 times left 20,000 dead entries that every status and debug message is queued for);
 * - a sign-in whose token is not a string (`{"toString": 1}` threw in its token store), a binary frame (read as a
 *   sign-in), text that is not a JSON object (`null` threw in its handler): each exception took the process down;
 * - a sign-in whose token the gateway refuses, checked here before Node-RED sees it and answered `{"auth":"fail"}` as
 *   Node-RED answers (the editor then asks for a login): Node-RED held each refused connection up to 30 s waiting for
 *   the client to answer its close, uncounted, and 14,500 of them with 60 KB tokens ran a 256 MB heap out;
 * - not signed in after `authWindowMs`: Node-RED keeps such a connection for as long as the client likes, receiving
 *   nothing, so anyone on the LAN could hold thousands;
 * - frames the parser cannot follow (over 64 KiB, malformed, compressed).
 * And editor websockets are capped per address, per token and in all (a read-only login held 6,000 open, each sent
 * every status and debug message). The editor reconnects by itself, is refused, and shows its login.
 *
 * The timer runs only while a socket is open, so an idle gateway does not wake for it. The upgrade gate
 * (gateway/http/upgrade-gate.ts) has already refused targets whose path this and Node-RED could read differently.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Counter } from 'prom-client';
import { HeldCounts } from '../core/held-counts.js';
import { VettedSocket, type Verdict } from './vetted-socket.js';

/** Far above what the editor sends (sign-in, subscriptions); a larger message is not the editor's, and is closed. */
const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
/** A browser sends the editor's small messages whole: a few fragments, a few reads at most. */
const MAX_FRAGMENTS = 16;
const MAX_BUFFERED_CHUNKS = 1024;
/** A tab that has stopped reading its debug sidebar; the console's event streams have the same kind of cap. */
const MAX_UNREAD_BYTES = 4 * 1024 * 1024;
/**
 * Editor websockets at once: not signed in yet (each holds a parser and a Node-RED connection for up to 30 s), per
 * client address, per token (a tab each; every one is sent every status and debug message), and in all.
 */
const MAX_PENDING_PER_ADDRESS = 8;
const MAX_PENDING = 64;
const MAX_PER_ADDRESS = 16;
const MAX_PER_TOKEN = 16;
const MAX_SOCKETS = 256;
/** Far longer than any token the gateway gives (a session's, an API token): a longer one is refused unread. */
const MAX_TOKEN_LENGTH = 1024;

export type EditorSocketEnd = 'session_ended' | 'not_signed_in' | 'signed_in_twice' | 'not_editor' | 'refused' | 'unreadable' | 'unread' | 'too_many';

interface Watched {
  socket: Socket;
  /** The token it signed in with; null before it has (and counted as pending for its address till then). */
  token: string | null;
  address: string;
  /** performance.now() at the upgrade. */
  openedAt: number;
}

export interface EditorSocketDeps {
  /** The check Node-RED itself signs a connection in with: the user, or null once the token is refused. */
  tokens: (token: string) => Promise<unknown>;
  ended: Counter<'reason'>;
  recheckMs?: number;
  authWindowMs?: number;
}

export class EditorSockets {
  private readonly sockets = new Map<Socket, Watched>();
  private readonly byAddress = new HeldCounts<string>();
  private readonly pending = new HeldCounts<string>();
  private pendingTotal = 0;
  private readonly byToken = new HeldCounts<string>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(private readonly deps: EditorSocketDeps) {}

  /**
   * The socket to hand Node-RED for an upgrade of the editor's websocket, its client frames vetted first; null when one
   * more would pass a cap (counted; the caller refuses the upgrade).
   */
  relay(req: IncomingMessage, socket: Socket, head: Buffer): Duplex | null {
    const address = socket.remoteAddress ?? 'unknown';
    const bearer = bearerOf(req.headers.authorization);
    const watched: Watched = { socket, token: null, address, openedAt: performance.now() };
    const full =
      this.sockets.size >= MAX_SOCKETS ||
      this.byAddress.of(address) >= MAX_PER_ADDRESS ||
      (bearer === null ? this.pending.of(address) >= MAX_PENDING_PER_ADDRESS || this.pendingTotal >= MAX_PENDING : !this.mayHold(bearer));
    if (full) {
      this.deps.ended.inc({ reason: 'too_many' });
      return null;
    }
    this.byAddress.add(address);
    // Signed in by its header, which Node-RED checks itself (and closes the socket for a token it refuses).
    if (bearer !== null) this.signIn(watched, bearer);
    else this.hold(watched);
    const vetted = new VettedSocket(socket, {
      maxFrameBytes: MAX_CLIENT_FRAME_BYTES,
      maxFragments: MAX_FRAGMENTS,
      maxBufferedChunks: MAX_BUFFERED_CHUNKS,
      maxUnreadBytes: MAX_UNREAD_BYTES,
      vet: (data, isBinary) => this.vet(watched, data, isBinary),
      onClose: (reason) => this.ended(socket, reason),
    });
    socket.once('close', () => this.forget(socket));
    this.sockets.set(socket, watched);
    this.timer ??= setInterval(() => void this.recheck(), this.deps.recheckMs ?? 5_000);
    this.timer.unref();
    // Bytes the client sent with its request (nearly always none) are frames like any other.
    if (head.length > 0) socket.unshift(head);
    return vetted;
  }

  /** Closes every editor websocket (the gateway is stopping). */
  close(): void {
    for (const socket of [...this.sockets.keys()]) {
      this.forget(socket);
      socket.destroy();
    }
  }

  /**
   * Mirrors what Node-RED's comms handler reads (`if (msg.auth) … else if (msg.subscribe) … else if (msg.topic)`). A
   * sign-in goes on only once its token is checked here, as Node-RED will check it: a refused one would otherwise
   * hold a Node-RED connection waiting up to 30 s for the client to answer its close.
   */
  private vet(watched: Watched, data: Buffer, isBinary: boolean): Verdict<EditorSocketEnd> | Promise<Verdict<EditorSocketEnd>> {
    const msg = isBinary ? null : objectOf(data);
    if (!msg) return { close: 'not_editor' };
    if (msg.auth) {
      if (watched.token !== null) return { close: 'signed_in_twice' };
      const token = msg.auth;
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return { close: 'not_editor' };
      return this.deps.tokens(token).then((user): Verdict<EditorSocketEnd> => {
        // Node-RED's own answer, which makes the editor drop its token and ask for a login.
        if (!user) return { close: 'refused', answer: JSON.stringify({ auth: 'fail' }) };
        if (!this.sockets.has(watched.socket) || !this.mayHold(token)) return { close: 'too_many' };
        this.release(watched.address);
        this.signIn(watched, token);
        return 'pass';
      });
    }
    if (msg.subscribe) return typeof msg.subscribe === 'string' ? 'pass' : { close: 'not_editor' };
    if (msg.topic) return typeof msg.topic === 'string' ? 'pass' : { close: 'not_editor' };
    // Nothing Node-RED acts on once signed in; before, it refuses the connection for it, as it would anyway.
    return watched.token === null ? 'pass' : 'drop';
  }

  private mayHold(token: string): boolean {
    return token.length <= MAX_TOKEN_LENGTH && this.byToken.of(token) < MAX_PER_TOKEN;
  }

  private signIn(watched: Watched, token: string): void {
    watched.token = token;
    this.byToken.add(token);
  }

  /** Each token once per round, however many sockets share it. */
  private async recheck(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const now = performance.now();
      const byToken = new Map<string, Socket[]>();
      for (const [socket, w] of this.sockets) {
        if (w.token !== null) {
          const list = byToken.get(w.token);
          if (list) list.push(socket);
          else byToken.set(w.token, [socket]);
        } else if (now - w.openedAt > (this.deps.authWindowMs ?? 30_000)) {
          this.end(socket, 'not_signed_in');
        }
      }
      for (const [token, sockets] of byToken) {
        const user = await this.deps.tokens(token).catch(() => undefined);
        if (user === null) for (const s of sockets) this.end(s, 'session_ended');
      }
    } finally {
      this.checking = false;
    }
  }

  private end(socket: Socket, reason: EditorSocketEnd): void {
    if (this.ended(socket, reason)) socket.destroy();
  }

  /** Counts the close once; false when the socket was already gone. */
  private ended(socket: Socket, reason: EditorSocketEnd): boolean {
    if (!this.forget(socket)) return false;
    this.deps.ended.inc({ reason });
    return true;
  }

  private hold(w: Watched): void {
    this.pending.add(w.address);
    this.pendingTotal++;
  }


  private release(address: string): void {
    this.pending.release(address);
    this.pendingTotal--;
  }

  private forget(socket: Socket): boolean {
    const w = this.sockets.get(socket);
    if (!w) return false;
    this.sockets.delete(socket);
    this.byAddress.release(w.address);
    if (w.token === null) this.release(w.address);
    else this.byToken.release(w.token);
    if (this.sockets.size === 0) this.stopTimer();
    return true;
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** The token of an `Authorization` header, as Node-RED takes it: `Bearer <token>`, split on single spaces. */
function bearerOf(header: string | undefined): string | null {
  const [scheme, token] = header?.split(' ') ?? [];
  return scheme === 'Bearer' && token ? token : null;
}

/** A text frame as a JSON object, or null for anything else (not JSON, `null`, an array, a number). */
function objectOf(data: Buffer): Record<string, unknown> | null {
  try {
    const msg: unknown = JSON.parse(data.toString('utf8'));
    return typeof msg === 'object' && msg !== null && !Array.isArray(msg) ? (msg as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
