/**
 * The Node-RED editor's websocket (`<editor root>/comms`) ends within `recheckMs` of the session it signed in with.
 *
 * Node-RED checks a comms connection's token once, when it signs in (an `{"auth": token}` frame, or a bearer header on
 * the upgrade request), and after that closes it only when one of its *own* sessions expires. Editor tokens are gateway
 * sessions (auth.ts), which end on logout, expiry, a new password or role, or the user's removal, so without this an
 * open editor tab kept receiving the debug sidebar and node status (children's names and cards in a tap's message)
 * on a token that no longer signs anyone in; a demoted or removed user's tab too.
 *
 * So the gateway reads the client's frames beside Node-RED (both get every chunk of the socket; the client's frames
 * are small: sign-in, subscriptions), remembers the token each connection last signed in with, checks it again with
 * the same `tokens` Node-RED asks, and closes the socket when it is refused. Node-RED also keeps a connection that
 * never signs in open for as long as the client likes, receiving nothing: anyone on the LAN could hold thousands. One
 * not signed in after `authWindowMs` is closed too. The editor reconnects by itself, is refused, and shows its login.
 *
 * The timer runs only while a socket is open, so an idle gateway does not wake for it.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import * as ws from 'ws';
import type { Counter } from 'prom-client';

/** ws's parser of a client's frames: exported by ws 8 (`Receiver`), not declared by @types/ws. */
interface FrameReader {
  write(chunk: Buffer): boolean;
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean; maxPayload: number }) => FrameReader };

/** Far above what the editor sends (sign-in, subscriptions); a larger frame is not the editor's, and is closed. */
const MAX_CLIENT_FRAME_BYTES = 64 * 1024;

export type EditorSocketEnd = 'session_ended' | 'not_signed_in' | 'unreadable';

interface Watched {
  /** The token it last signed in with; null before it has. */
  token: string | null;
  /** performance.now() at the upgrade. */
  openedAt: number;
  receiver: FrameReader;
  /** A check is under way (the token's check may take a libuv thread: an API token's scrypt). */
  checking: boolean;
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

  constructor(private readonly deps: EditorSocketDeps) {}

  /** Listens beside Node-RED on the server's upgrades. */
  attach(server: Server): void {
    server.on('upgrade', this.onUpgrade);
  }

  /** Stops watching and closes what it watched (the gateway is stopping). */
  close(server: Server): void {
    server.off('upgrade', this.onUpgrade);
    clearInterval(this.timer);
    this.timer = undefined;
    for (const socket of this.sockets.keys()) socket.destroy();
    this.sockets.clear();
  }

  get size(): number {
    return this.sockets.size;
  }

  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex): void => {
    if (pathOf(req.url) !== this.deps.path) return;
    const watched: Watched = {
      token: bearerOf(req.headers.authorization),
      openedAt: performance.now(),
      receiver: new Receiver({ isServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES }),
      checking: false,
    };
    watched.receiver.on('message', (data: Buffer, isBinary: boolean) => {
      const token = isBinary ? undefined : signInTokenOf(data);
      if (token !== undefined) watched.token = token;
    });
    // A frame this cannot follow (too large, malformed, compressed) could hide a sign-in: fail closed.
    watched.receiver.on('error', () => this.end(socket, 'unreadable'));
    // First, and a copy: ws unmasks a frame's payload in place, in the very Buffer every 'data' listener is handed, so
    // whichever parser reads it second would read it masked twice. `head` (bytes after the request, nearly always
    // none) is not read here: ws puts it back on the socket, and it comes again as 'data'.
    socket.prependListener('data', (chunk: Buffer) => watched.receiver.write(Buffer.from(chunk)));
    socket.once('close', () => this.forget(socket));
    this.sockets.set(socket, watched);
    this.timer ??= setInterval(() => this.recheck(), this.deps.recheckMs ?? 5_000);
    this.timer.unref();
  };

  private recheck(): void {
    const now = performance.now();
    for (const [socket, w] of this.sockets) {
      if (w.token === null) {
        if (now - w.openedAt > (this.deps.authWindowMs ?? 30_000)) this.end(socket, 'not_signed_in');
        continue;
      }
      if (w.checking) continue;
      w.checking = true;
      const token = w.token;
      this.deps.tokens(token).then(
        (user) => {
          w.checking = false;
          if (!user && w.token === token) this.end(socket, 'session_ended');
        },
        () => {
          w.checking = false;
        },
      );
    }
  }

  private end(socket: Duplex, reason: EditorSocketEnd): void {
    if (!this.sockets.has(socket)) return;
    this.deps.ended.inc({ reason });
    this.forget(socket);
    socket.destroy();
  }

  private forget(socket: Duplex): void {
    // The parser keeps its listeners: an error it reports after this finds the socket gone (end() is a no-op then).
    if (!this.sockets.delete(socket)) return;
    if (this.sockets.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/** The path as Node-RED's comms reads it (`url.parse(url).pathname`): up to `?` or `#`, backslashes as slashes. */
export function pathOf(url: string | undefined): string {
  return (url ?? '').trim().split(/[?#]/)[0]!.replace(/\\/g, '/');
}

/** The token of an `Authorization` header, as Node-RED takes it: `Bearer <token>`, split on single spaces. */
function bearerOf(header: string | undefined): string | null {
  const [scheme, token] = header?.split(' ') ?? [];
  return scheme === 'Bearer' && token ? token : null;
}

/**
 * The token of a sign-in frame, as Node-RED takes it (`JSON.parse`, then a truthy `auth`), or undefined for any other
 * frame. A truthy `auth` that is not a string is no token anyone has: '' is refused at the next check.
 */
function signInTokenOf(data: Buffer): string | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
  const auth = typeof msg === 'object' && msg !== null ? (msg as { auth?: unknown }).auth : undefined;
  if (!auth) return undefined;
  return typeof auth === 'string' ? auth : '';
}
