/**
 * The camera's credentials stay in this process: ffmpeg pulls a camera's RTSP stream through this relay on loopback
 * and never has its password. The relay dials only the configured camera (over TLS for `rtsps:`), and answers the
 * camera's Digest challenge itself, adding `Authorization` to ffmpeg's requests (Basic only where the school allowed
 * it, `cameras.basicAuth`).
 *
 * Why: ffmpeg follows an RTSP redirect to any host, credentials and all, and answers a `Basic` challenge (in any
 * answer, at any time) with the password in clear. An attacker review (2026-12-06) had a fake camera send ffmpeg and
 * `admin:password` to another host, and then, past a first relay that filtered ffmpeg's traffic, leak it five more
 * ways (a challenge in a 200, one after PLAY, bare-LF heads, a status line with two spaces, an `rtsps:` URI). With
 * no password in ffmpeg there is nothing for a camera's answer to draw out. On top of that a redirect (3xx) closes
 * the session, and authentication headers never reach ffmpeg.
 *
 * Messages are read as ffmpeg reads them: a line ends at LF and every CR is dropped, the status is the second word's
 * number; what ffmpeg would take for a reply is checked as a reply. Interleaved data (`$`, channel, 16-bit length)
 * passes through without a copy. A head over 64 KiB or a body over 1 MiB closes the session.
 *
 * Only the ffmpeg run it was opened for may use it: each run's URL carries a fresh token, good for one session, and
 * the camera is dialled only once a session's first request names it. A local process could otherwise have used the
 * relay as a signed-in proxy to the camera (a third review). The token is in ffmpeg's command line, so a local user
 * who reads it and connects before ffmpeg does (milliseconds) takes that run's session: the pull fails and retries
 * with a new token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const MAX_HEAD_BYTES = 64 * 1024;
const MAX_BODY_BYTES = 1024 * 1024;
/** Connections that have not named the run's token yet, and how long they may take to. */
const MAX_PENDING = 4;
const PENDING_MS = 5000;
/** Header names a camera may use to ask for or to answer credentials: never passed to ffmpeg. */
const AUTH_HEADERS = new Set(['www-authenticate', 'authentication-info', 'proxy-authenticate', 'authorization']);

export interface RtspRelayOptions {
  /** The camera's RTSP address, from its configured host, and its scheme (`rtsps:` dials TLS). */
  host: string;
  port: number;
  tls: boolean;
  username?: string | undefined;
  password?: string | undefined;
  allowBasic: boolean;
  /** Why a session was closed or could not authenticate: shown as the pull's error. */
  onRefused: (reason: string) => void;
}

/** What the sessions of one relay share: their sockets, and the current run's token until a session takes it. */
interface RelayState {
  sockets: Set<Socket>;
  pending: number;
  token: string | null;
}

export class RtspGuard {
  private constructor(
    private readonly server: Server,
    private readonly state: RelayState,
    readonly port: number,
  ) {}

  static async listen(o: RtspRelayOptions): Promise<RtspGuard> {
    const state: RelayState = { sockets: new Set(), pending: 0, token: null };
    const server = createServer((client) => {
      if (state.pending >= MAX_PENDING) return void client.destroy();
      relay(client, o, state);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    server.on('error', () => {});
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('rtsp relay: no port');
    return new RtspGuard(server, state, address.port);
  }

  /**
   * The URL a new ffmpeg run opens: the camera's path on this relay under a fresh token, without credentials. The
   * sessions of earlier runs are closed.
   */
  runUrl(cameraUrl: URL): string {
    for (const s of this.state.sockets) s.destroy();
    this.state.sockets.clear();
    this.state.token = randomBytes(16).toString('hex');
    return `rtsp://127.0.0.1:${this.port}/${this.state.token}${cameraUrl.pathname}${cameraUrl.search}`;
  }

  /** ffmpeg's words about the relay's address, said of the camera's (the console shows them). */
  camerasWords(text: string, camera: { host: string; port: number }): string {
    return text.replaceAll(`127.0.0.1:${this.port}`, `${camera.host}:${camera.port}`);
  }

  close(): void {
    this.server.close();
    this.state.token = null;
    for (const s of this.state.sockets) s.destroy();
    this.state.sockets.clear();
  }
}

/** One unit of an RTSP byte stream, as ffmpeg would read it. */
type Unit =
  | { kind: 'frame'; size: number }
  | { kind: 'blank'; size: number }
  | { kind: 'message'; lines: string[]; size: number; body: Buffer }
  | { kind: 'more' }
  | { kind: 'bad'; reason: string };

/** Bytes of CR and LF at the start: ffmpeg skips them before a unit (an empty line, a dropped CR). */
function blankPrefix(buf: Buffer): number {
  let i = 0;
  while (i < buf.length && (buf[i] === 0x0d || buf[i] === 0x0a)) i++;
  return i;
}

function nextUnit(buf: Buffer): Unit {
  if (buf.length === 0) return { kind: 'more' };
  if (buf[0] === 0x24) return buf.length < 4 ? { kind: 'more' } : { kind: 'frame', size: 4 + buf.readUInt16BE(2) };
  // `\r$…`: ffmpeg drops the CR and reads interleaved data; read here as a message it hid a redirect (a third review).
  if (buf[0] === 0x0d || buf[0] === 0x0a) return { kind: 'blank', size: blankPrefix(buf) };
  const text = buf.toString('latin1', 0, Math.min(buf.length, MAX_HEAD_BYTES));
  const end = /\n\r*\n/.exec(text);
  if (!end) return buf.length >= MAX_HEAD_BYTES ? { kind: 'bad', reason: `an RTSP head over ${MAX_HEAD_BYTES} bytes` } : { kind: 'more' };
  const lines = text.slice(0, end.index).split('\n').map((l) => l.replace(/\r/g, ''));
  if (lines.some((l) => l.startsWith('$'))) return { kind: 'bad', reason: 'an RTSP head with interleaved data inside it' };
  const lengths = new Set(lines.flatMap((l) => (/^content-length:/i.test(l) ? [l.slice(15).trim()] : [])));
  if (lengths.size > 1) return { kind: 'bad', reason: 'an RTSP message with two Content-Lengths' };
  const length = [...lengths][0] ?? '0';
  if (!/^\d{1,7}$/.test(length) || Number(length) > MAX_BODY_BYTES) return { kind: 'bad', reason: `an RTSP body of "${length.slice(0, 20)}" bytes` };
  const size = end.index + end[0].length + Number(length);
  if (buf.length < size) return { kind: 'more' };
  return { kind: 'message', lines, size, body: buf.subarray(end.index + end[0].length, size) };
}

const headerName = (line: string): string => line.slice(0, Math.max(0, line.indexOf(':'))).trim().toLowerCase();
const headerValue = (lines: string[], name: string): string | undefined => lines.find((l) => headerName(l) === name)?.slice(name.length + 1).trim();
/** The status as ffmpeg takes it: the second word's leading number. */
const statusOf = (first: string): number => Number.parseInt(first.trim().split(/[ \t]+/)[1] ?? '', 10) || 0;
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

function encode(lines: string[], body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** Parses `Digest realm="x", nonce="y", qop="auth"` into its parameters. */
function digestParams(challenge: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of challenge.slice(6).matchAll(/([a-z0-9_-]+)\s*=\s*(?:"([^"]*)"|([^\s,]+))/gi)) out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return out;
}

interface Sent {
  /** ffmpeg's own CSeq, which its answer must carry. */
  cseq: string;
  method: string;
  uri: string;
  lines: string[];
  body: Buffer;
  retried: boolean;
}

function relay(client: Socket, o: RtspRelayOptions, state: RelayState): void {
  let camera: Socket | undefined;
  let pending = true;
  state.pending++;
  const pendingTimer = setTimeout(() => client.destroy(), PENDING_MS);
  const settle = (): void => {
    if (!pending) return;
    pending = false;
    state.pending--;
    clearTimeout(pendingTimer);
  };
  let ended = false;
  const end = (): void => {
    ended = true;
    settle();
    client.destroy();
    camera?.destroy();
    state.sockets.delete(client);
    if (camera) state.sockets.delete(camera);
  };
  const refuse = (reason: string): void => {
    if (!ended) o.onRefused(reason);
    end();
  };
  client.on('error', end).on('close', end);
  client.setNoDelay(true);

  /** The camera, dialled once this session has named the run's token. */
  const dial = (): Socket => {
    // Cameras' certificates are their own (self-signed): as ffmpeg did, TLS here hides the stream, it proves nothing.
    const c: Socket = o.tls ? tlsConnect({ host: o.host, port: o.port, rejectUnauthorized: false }) : connect({ host: o.host, port: o.port });
    state.sockets.add(client).add(c);
    c.on('close', end);
    c.on('error', (err: NodeJS.ErrnoException) => refuse(`cannot reach the camera's RTSP port ${o.host}:${o.port} (${err.code ?? err.message})`));
    c.on('data', (chunk: Buffer) => fromCamera(chunk));
    return c;
  };

  const listenBase = `rtsp://127.0.0.1:${(client.localPort ?? 0).toString()}`;
  let relayBase = '';
  const cameraBase = `${o.tls ? 'rtsps' : 'rtsp'}://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`;
  const sent = new Map<number, Sent>();
  let nextCSeq = 1;
  let auth: { kind: 'digest'; params: Record<string, string>; nc: number } | { kind: 'basic' } | null = null;

  const authorization = (method: string, uri: string): string | null => {
    if (!auth || o.username === undefined) return null;
    const user = o.username;
    const pass = o.password ?? '';
    if (auth.kind === 'basic') return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    const p = auth.params;
    const ha1 = md5(`${user}:${p.realm ?? ''}:${pass}`);
    const ha2 = md5(`${method}:${uri}`);
    const quote = (s: string): string => s.replace(/["\\\r\n]/g, '');
    const parts = [`username="${quote(user)}"`, `realm="${quote(p.realm ?? '')}"`, `nonce="${quote(p.nonce ?? '')}"`, `uri="${quote(uri)}"`];
    if ((p.qop ?? '').split(',').map((q) => q.trim()).includes('auth')) {
      const nc = (++auth.nc).toString(16).padStart(8, '0');
      const cnonce = randomBytes(8).toString('hex');
      parts.push(`response="${md5(`${ha1}:${p.nonce ?? ''}:${nc}:${cnonce}:auth:${ha2}`)}"`, 'qop=auth', `nc=${nc}`, `cnonce="${cnonce}"`);
    } else parts.push(`response="${md5(`${ha1}:${p.nonce ?? ''}:${ha2}`)}"`);
    if (p.opaque !== undefined) parts.push(`opaque="${quote(p.opaque)}"`);
    if (p.algorithm !== undefined) parts.push('algorithm=MD5');
    return `Digest ${parts.join(', ')}`;
  };

  /** Sends ffmpeg's request (or a retry of it) to the camera, with our CSeq and credentials. */
  const send = (r: Sent): void => {
    const cseq = nextCSeq++;
    sent.set(cseq, r);
    // Answers a camera never gives are forgotten past a few: ffmpeg waits for each one it needs.
    if (sent.size > 64) sent.delete(sent.keys().next().value!);
    const lines = [`${r.method} ${r.uri} RTSP/1.0`];
    for (const l of r.lines.slice(1)) {
      const name = headerName(l);
      if (name !== 'cseq' && !AUTH_HEADERS.has(name)) lines.push(l);
    }
    lines.push(`CSeq: ${cseq}`);
    const a = authorization(r.method, r.uri);
    if (a) lines.push(`Authorization: ${a}`);
    camera!.write(encode(lines, r.body));
  };

  /** Takes the camera's challenge: Digest if offered, Basic only where allowed. False when none can be answered. */
  const challenged = (lines: string[]): boolean => {
    const challenges = lines.filter((l) => headerName(l) === 'www-authenticate').map((l) => l.slice(l.indexOf(':') + 1).trim());
    const digest = challenges.find((c) => /^digest\s/i.test(c));
    if (digest) {
      const params = digestParams(digest);
      if (params.algorithm && !/^md5$/i.test(params.algorithm)) return false;
      auth = { kind: 'digest', params, nc: 0 };
      return true;
    }
    if (challenges.some((c) => /^basic\b/i.test(c)) && o.allowBasic) {
      auth = { kind: 'basic' };
      return true;
    }
    if (challenges.some((c) => /^basic\b/i.test(c))) {
      o.onRefused('the camera asks for RTSP Basic authentication, which sends its password in clear: turn on Digest on the camera (or set cameras.basicAuth)');
    }
    return false;
  };

  // ffmpeg → camera: its requests, re-addressed to the camera and authenticated here.
  let fromClient: Buffer = Buffer.alloc(0);
  client.on('data', (chunk: Buffer) => {
    fromClient = fromClient.length ? Buffer.concat([fromClient, chunk]) : chunk;
    for (;;) {
      const u = nextUnit(fromClient);
      if (u.kind === 'more') return;
      if (u.kind === 'bad') return refuse(`ffmpeg sent ${u.reason}`);
      const unit = fromClient.subarray(0, u.size);
      fromClient = fromClient.subarray(u.size);
      if (u.kind === 'blank') continue;
      const [method = '', target = ''] = u.kind === 'message' ? (u.lines[0] ?? '').split(' ') : [];
      if (!camera) {
        // The session's first request must name this run's token, which it then uses up.
        const base = state.token ? `${listenBase}/${state.token}` : null;
        if (u.kind !== 'message' || !base || (target !== base && !target.startsWith(`${base}/`) && !target.startsWith(`${base}?`))) return end();
        state.token = null;
        relayBase = base;
        settle();
        camera = dial();
      }
      if (u.kind === 'frame') {
        camera.write(unit); // RTCP reports
        continue;
      }
      if (/^RTSP\//i.test(u.lines[0] ?? '')) {
        camera.write(encode(u.lines.filter((l) => !AUTH_HEADERS.has(headerName(l))), u.body)); // ffmpeg's answer to the camera's request
        continue;
      }
      const uri = target.startsWith(relayBase) ? cameraBase + target.slice(relayBase.length) : target;
      send({ cseq: headerValue(u.lines, 'cseq') ?? '0', method, uri, lines: u.lines, body: Buffer.from(u.body), retried: false });
    }
  });

  // camera → ffmpeg: interleaved video as it comes; answers checked, credentials never passed on.
  let fromCameraBuf: Buffer = Buffer.alloc(0);
  let passBytes = 0;
  const fromCamera = (chunk: Buffer): void => {
    if (passBytes > 0) {
      const n = Math.min(passBytes, chunk.length);
      forward(chunk.subarray(0, n));
      passBytes -= n;
      chunk = chunk.subarray(n);
    }
    fromCameraBuf = fromCameraBuf.length ? Buffer.concat([fromCameraBuf, chunk]) : chunk;
    for (;;) {
      const u = nextUnit(fromCameraBuf);
      if (u.kind === 'more') return;
      if (u.kind === 'bad') return refuse(`the camera sent ${u.reason}`);
      if (u.kind === 'blank') {
        fromCameraBuf = fromCameraBuf.subarray(u.size);
        continue;
      }
      if (u.kind === 'frame') {
        const n = Math.min(u.size, fromCameraBuf.length);
        forward(fromCameraBuf.subarray(0, n));
        passBytes = u.size - n;
        fromCameraBuf = fromCameraBuf.subarray(n);
        continue;
      }
      fromCameraBuf = fromCameraBuf.subarray(u.size);
      const first = u.lines[0] ?? '';
      const lines = u.lines.filter((l) => !AUTH_HEADERS.has(headerName(l)));
      if (/^(SET_PARAMETER|OPTIONS|ANNOUNCE)/.test(first)) {
        forward(encode(lines, u.body)); // the camera's own request: ffmpeg answers it
        continue;
      }
      // Anything else ffmpeg reads as a reply, whatever its first word.
      const status = statusOf(first);
      if (status >= 300 && status < 400) {
        return refuse(`the camera answered with a redirect (${status}) to another address; not followed (docs/security.md, Cameras)`);
      }
      const ours = Number(headerValue(u.lines, 'cseq'));
      const request = sent.get(ours);
      sent.delete(ours);
      if (!request) continue; // an answer to nothing we asked
      if (status === 401) {
        if (o.username === undefined) o.onRefused('the camera asks for credentials (401) and none are configured');
        else if (request.retried) o.onRefused('the camera refused the credentials (401): check the username and password');
        else if (challenged(u.lines)) {
          send({ ...request, retried: true });
          continue;
        }
      }
      const out = lines.map((l) => (headerName(l) === 'cseq' ? `CSeq: ${request.cseq}` : l));
      forward(encode(out, u.body));
    }
  };
  const forward = (bytes: Buffer): void => {
    if (bytes.length && !client.write(bytes)) camera?.pause();
  };
  client.on('drain', () => camera?.resume());
}
