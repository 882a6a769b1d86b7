/**
 * What a camera may make ffmpeg do over RTSP. ffmpeg follows an RTSP redirect (3xx + Location) to any host and port,
 * credentials and all, and answers a `Basic` challenge with the camera's password in clear: something answering on
 * a camera's RTSP port (a compromised camera, a device that took its address) got `admin:password` sent to a host of
 * its choosing, on every retry (an attacker review, 2026-12-06). Schools often give every camera one password.
 *
 * So ffmpeg pulls through this relay on loopback, which dials only the configured camera and reads its answers until
 * the stream plays:
 * - a redirect closes the session (refused, with a reason the console shows);
 * - `WWW-Authenticate: Basic` challenges are taken out (Digest ones pass), unless `cameras.basicAuth` allows them;
 * - an answer head over 64 KiB closes it.
 * After the PLAY answer the bytes are passed on as they come (interleaved RTP: nothing left to read for), so the
 * video itself costs a copy in this process and no parsing.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

const MAX_HEAD_BYTES = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

export interface RtspGuardOptions {
  /** The camera's RTSP address, from its configured host. */
  host: string;
  port: number;
  allowBasic: boolean;
  /** Why a session was closed: shown as the pull's error. */
  onRefused: (reason: string) => void;
}

export class RtspGuard {
  private constructor(
    private readonly server: Server,
    private readonly sessions: Set<Socket>,
    readonly port: number,
  ) {}

  static async listen(o: RtspGuardOptions): Promise<RtspGuard> {
    const sessions = new Set<Socket>();
    const server = createServer((client) => relay(client, o, sessions));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    server.on('error', () => {});
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('rtsp guard: no port');
    return new RtspGuard(server, sessions, address.port);
  }

  /** ffmpeg's words about the relay's address, said of the camera's (the console shows them). */
  camerasWords(text: string, camera: { host: string; port: number }): string {
    return text.replaceAll(`127.0.0.1:${this.port}`, `${camera.host}:${camera.port}`);
  }

  /** The URL ffmpeg opens: the camera's, pointed at this relay. */
  urlFor(cameraUrl: URL): string {
    const u = new URL(cameraUrl.toString());
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  close(): void {
    this.server.close();
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
  }
}

function relay(client: Socket, o: RtspGuardOptions, sessions: Set<Socket>): void {
  const camera = connect({ host: o.host, port: o.port });
  sessions.add(client).add(camera);
  const end = (): void => {
    client.destroy();
    camera.destroy();
    sessions.delete(client);
    sessions.delete(camera);
  };
  const refuse = (reason: string): void => {
    o.onRefused(reason);
    end();
  };
  client.on('error', end).on('close', end);
  camera.on('close', end);
  camera.on('error', (err: NodeJS.ErrnoException) => {
    o.onRefused(`cannot reach the camera's RTSP port ${o.host}:${o.port} (${err.code ?? err.message})`);
    end();
  });
  client.setNoDelay(true);
  camera.setNoDelay(true);

  // ffmpeg's requests go as they are; a PLAY among them means the next success answer starts the stream.
  let playAsked = false;
  client.on('data', (chunk: Buffer) => {
    if (!playAsked && /(^|\r\n)PLAY /.test(chunk.toString('latin1'))) playAsked = true;
    if (!camera.write(chunk)) client.pause();
  });
  camera.on('drain', () => client.resume());

  let pending: Buffer = Buffer.alloc(0);
  const fromCamera = (chunk: Buffer): void => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      if (pending.length === 0) return;
      if (pending[0] === 0x24) {
        // Interleaved data (`$`, channel, 16-bit length): passed on whole.
        if (pending.length < 4) return;
        const size = 4 + pending.readUInt16BE(2);
        if (pending.length < size) return;
        forward(pending.subarray(0, size));
        pending = pending.subarray(size);
        continue;
      }
      const headEnd = pending.indexOf(HEAD_END);
      if (headEnd < 0) {
        if (pending.length > MAX_HEAD_BYTES) refuse(`the camera's RTSP answer head is over ${MAX_HEAD_BYTES} bytes`);
        return;
      }
      const head = pending.subarray(0, headEnd).toString('latin1');
      const lines = head.split('\r\n');
      const bodyBytes = Number(/^content-length:\s*(\d+)\s*$/im.exec(head)?.[1] ?? 0);
      if (headEnd + 4 + bodyBytes > MAX_HEAD_BYTES + 1024 * 1024) return refuse('the camera sent an RTSP answer body over 1 MiB');
      if (pending.length < headEnd + 4 + bodyBytes) return;
      const body = pending.subarray(headEnd + 4, headEnd + 4 + bodyBytes);
      pending = pending.subarray(headEnd + 4 + bodyBytes);
      const status = /^RTSP\/\d\.\d (\d{3})/.exec(lines[0] ?? '');
      const code = status ? Number(status[1]) : 0;
      if (code >= 300 && code < 400) {
        return refuse(`the camera answered with a redirect (${code}) to another address; not followed (docs/security.md, Cameras)`);
      }
      let kept = lines;
      if (code === 401 && !o.allowBasic) {
        kept = lines.filter((l) => !/^www-authenticate:\s*basic\b/i.test(l));
        if (!kept.some((l) => /^www-authenticate:/i.test(l))) {
          o.onRefused('the camera asks for RTSP Basic authentication, which sends its password in clear: turn on Digest on the camera (or set cameras.basicAuth)');
        }
      }
      forward(Buffer.concat([Buffer.from(`${kept.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
      if (playAsked && code >= 200 && code < 300) {
        // The stream plays: from here on only the camera's bytes, as they come.
        camera.off('data', fromCamera);
        if (pending.length) forward(pending);
        pending = Buffer.alloc(0);
        camera.pipe(client);
        return;
      }
    }
  };
  const forward = (bytes: Buffer): void => {
    if (!client.write(bytes)) camera.pause();
  };
  client.on('drain', () => camera.resume());
  camera.on('data', fromCamera);
}
