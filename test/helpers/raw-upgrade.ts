/**
 * A websocket upgrade request written by hand on a raw TCP socket, so a test can send what no client library would:
 * an absolute-form target, or a reset right after the request.
 */
import { connect } from 'node:net';

/**
 * Sends `GET <target>` asking to upgrade and resolves with the status line of the answer, or '' when the connection
 * closed without one. With `reset`, the connection is reset (TCP RST) `reset` ms after the request instead.
 */
export function rawUpgrade(port: number, target: string, opts: { reset?: number; headers?: Record<string, string> } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    const headers = Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${headers}\r\n`,
    );
    if (opts.reset !== undefined) setTimeout(() => socket.resetAndDestroy(), opts.reset);
    // A 101 leaves the socket open: the status line is all a test needs.
    else socket.once('data', () => answer.startsWith('HTTP/1.1 101') && socket.destroy());
  });
}
