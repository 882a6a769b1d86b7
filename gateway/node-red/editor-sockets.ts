/**
 * The Node-RED editor's websocket (`<editor root>/comms`) ends within `recheckMs` of the session it signed in with.
 *
 * Node-RED checks a comms connection's token once, when it signs in (an `{"auth": token}` frame, or a bearer header on
 * the upgrade request), and after that closes it only when one of its *own* sessions expires. Editor tokens are gateway
 * sessions (auth.ts), which end on logout, expiry, a new password or role, or the user's removal, so without this an
 * open editor tab kept receiving the debug sidebar and node status (children's names and cards in a tap's message)
 * on a token that no longer signs anyone in; a demoted or removed user's tab too.
 *
 * So the gateway reads the client's frames beside Node-RED (both get every chunk of the socket), remembers the token
 * the connection signed in with, checks it again with the same `tokens` Node-RED asks, and closes the socket once it
 * is refused. The editor sends a few small JSON objects (one sign-in, its subscriptions); anything else is closed:
 * - not signed in after `authWindowMs`: Node-RED keeps such a connection for as long as the client likes, receiving
 *   nothing, so anyone on the LAN could hold thousands;
 * - a second sign-in: Node-RED adds the connection to its list again on every sign-in and takes it off once when it
 *   closes, so one socket signing in 20,000 times left 20,000 dead entries that every status and debug message is
 *   queued for. Closed at the second, the socket leaves at most one (the second is still taken, in the same turn);
 * - a binary frame, or text that is not a JSON object: Node-RED reads a binary frame as a sign-in too, and a `null`
 *   throws in its handler (runtime.ts keeps the process running; this closes the socket that sent it);
 * - frames this cannot follow (over 64 KiB, malformed, compressed), which could hide a sign-in.
 * The editor reconnects by itself, is refused, and shows its login.
 *
 * The timer runs only while a socket is open, so an idle gateway does not wake for it. The upgrade gate
 * (gateway/http/upgrade-gate.ts) has already refused targets whose path this and Node-RED could read differently.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import * as ws from 'ws';
import type { Counter } from 'prom-client';
import { pathOf } from '../http/upgrade-gate.js';

/** ws's parser of a client's frames: exported by ws 8 (`Receiver`), not declared by @types/ws. */
interface FrameReader {
  write(chunk: Buffer): boolean;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean; maxPayload: number }) => FrameReader };

/** Far above what the editor sends (sign-in, subscriptions); a larger frame is not the editor's, and is closed. */
const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

export type EditorSocketEnd = 'session_ended' | 'not_signed_in' | 'signed_in_twice' | 'not_editor' | 'unreadable';

interface Watched {
  /** The token it signed in with; null before it has. */
  token: string | null;
  /** performance.now() at the upgrade. */
  openedAt: number;
}

export interface EditorSocketDeps {
  /** The comms path, `<editor root>/comms`. */
  path: string;
  /** The check Node-RED itself signs a connection in with: the user, or null once the token is refused. */
  tokens: (token: string) => Promise<unknown>;
  ended: Counter<'reason'>;
  recheckMs?: number;
  authWindowMs?: number;
}

export class EditorSockets {
  private readonly sockets = new Map<Duplex, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(private readonly deps: EditorSocketDeps) {}

  /** Listens beside Node-RED on the server's upgrades. */
  attach(server: Server): void {
    server.on('upgrade', this.onUpgrade);
  }

  /** Stops watching and closes what it watched (the gateway is stopping). */
  close(server: Server): void {
    server.off('upgrade', this.onUpgrade);
    for (const socket of [...this.sockets.keys()]) socket.destroy();
    this.sockets.clear();
    this.stopTimer();
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex): void => {
    if (pathOf(req.url) !== this.deps.path) return;
    const watched: Watched = { token: bearerOf(req.headers.authorization), openedAt: performance.now() };
    const receiver = new Receiver({ isServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES });
    receiver.on('message', (data, isBinary) => {
      const frame = isBinary ? NOT_EDITOR : readFrame(data);
      if (frame === NOT_EDITOR) return this.end(socket, 'not_editor');
      if (frame === undefined) return;
      if (watched.token !== null) return this.end(socket, 'signed_in_twice');
      watched.token = frame;
    });
    // The parser keeps its listeners after the socket is gone: end() is a no-op then.
    receiver.on('error', () => this.end(socket, 'unreadable'));
    // First, and a copy: ws unmasks a frame's payload in place, in the very Buffer every 'data' listener is handed, so
    // whichever parser reads it second would read it masked twice. `head` (bytes after the request, nearly always
    // none) is not read here: ws puts it back on the socket, and it comes again as 'data'.
    socket.prependListener('data', (chunk: Buffer) => receiver.write(Buffer.from(chunk)));
    socket.once('close', () => this.forget(socket));
    this.sockets.set(socket, watched);
    this.timer ??= setInterval(() => void this.recheck(), this.deps.recheckMs ?? 5_000);
    this.timer.unref();
  };

  /** Each token once per round, however many sockets share it. */
  private async recheck(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const now = performance.now();
      const byToken = new Map<string, Duplex[]>();
      for (const [socket, w] of this.sockets) {
        if (w.token !== null) {
          const list = byToken.get(w.token);
          if (list) list.push(socket);
          else byToken.set(w.token, [socket]);
        } else if (now - w.openedAt > (this.deps.authWindowMs ?? 30_000)) this.end(socket, 'not_signed_in');
      }
      for (const [token, sockets] of byToken) {
        const user = await this.deps.tokens(token).catch(() => undefined);
        if (user === null) for (const s of sockets) this.end(s, 'session_ended');
      }
    } finally {
      this.checking = false;
    }
  }

  private end(socket: Duplex, reason: EditorSocketEnd): void {
    if (!this.forget(socket)) return;
    this.deps.ended.inc({ reason });
    socket.destroy();
  }

  private forget(socket: Duplex): boolean {
    if (!this.sockets.delete(socket)) return false;
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

const NOT_EDITOR = Symbol('not the editor');

/**
 * A text frame as Node-RED reads it (`JSON.parse`, then a truthy `auth`): the token of a sign-in, undefined for any
 * other object, NOT_EDITOR for what the editor never sends. A truthy `auth` that is not a string is no token anyone
 * has: '' is refused at the next check.
 */
function readFrame(data: Buffer): string | undefined | typeof NOT_EDITOR {
  let msg: unknown;
  try {
    msg = JSON.parse(data.toString('utf8'));
  } catch {
    return NOT_EDITOR;
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return NOT_EDITOR;
  const { auth } = msg as { auth?: unknown };
  if (!auth) return undefined;
  return typeof auth === 'string' ? auth : '';
}
