import { request, type Agent, type IncomingMessage } from 'node:http';
import { CameraError } from '../../gateway/cameras/port.js';

export interface FetchImageOptions {
  username?: string | undefined;
  password?: string | undefined;
  timeoutMs: number;
  maxBytes: number;
  /** Answer a Basic challenge: the password in clear, to whatever answers at the camera's address. */
  allowBasic: boolean;
  agent: Agent;
  /** Answers Digest challenges (the onvif library's implementation, so SOAP and snapshots authenticate alike). */
  digest: (challenges: string[], method: string, path: string) => string;
}

interface Answer {
  status: number;
  challenges: string[];
  body: Buffer;
}

/**
 * GETs a snapshot URI: first without credentials, then answering the camera's challenge with Digest, or with Basic
 * only where the school allowed it (`cameras.basicAuth`): anything answering at a camera's address could ask for
 * Basic and get the password, often every camera's (an attacker review, 2026-12-06). The whole exchange is bounded by
 * `timeoutMs`, the body by `maxBytes`, and the result must be a JPEG.
 */
export async function fetchImage(uri: string, opts: FetchImageOptions): Promise<Buffer> {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new CameraError('malformed', `snapshot: the camera gave an invalid snapshot URI "${uri}"`);
  }
  if (url.protocol !== 'http:') throw new CameraError('unsupported', `snapshot: only http:// snapshot URIs are supported, got ${url.protocol}`);
  const deadline = Date.now() + opts.timeoutMs;
  const path = `${url.pathname}${url.search}`;
  const where = `${url.hostname}:${url.port || 80}`;

  let answer = await get(url, path, undefined, deadline, opts);
  if (answer.status === 401) {
    if (!opts.username) throw new CameraError('unauthorized', `snapshot: ${where} wants credentials and none are configured`);
    const digest = answer.challenges.filter((c) => /^digest /i.test(c));
    let authorization: string;
    if (digest.length) authorization = opts.digest(digest, 'GET', path);
    else if (answer.challenges.some((c) => /^basic/i.test(c))) {
      if (!opts.allowBasic) {
        throw new CameraError('unauthorized', `snapshot: ${where} asks for Basic authentication, which sends the password in clear: turn on Digest on the camera (or set cameras.basicAuth)`);
      }
      authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
    } else throw new CameraError('unauthorized', `snapshot: ${where} answered 401 without a Basic or Digest challenge`);
    answer = await get(url, path, authorization, deadline, opts);
    if (answer.status === 401) {
      throw new CameraError('unauthorized', `snapshot: ${where} rejected the credentials (401): check the username and password`);
    }
  }
  if (answer.status !== 200) throw new CameraError('fault', `snapshot: ${where} answered HTTP ${answer.status} for ${path}`);
  const b = answer.body;
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8 || b[2] !== 0xff) {
    throw new CameraError('not_jpeg', `snapshot: ${where} sent ${b.length} bytes that are not a JPEG`);
  }
  return b;
}

function get(url: URL, path: string, authorization: string | undefined, deadline: number, opts: FetchImageOptions): Promise<Answer> {
  const where = `${url.hostname}:${url.port || 80}`;
  return new Promise((resolve, reject) => {
    const left = deadline - Date.now();
    if (left <= 0) return reject(new CameraError('timeout', `snapshot: ${where} did not answer in time`));
    let settled = false;
    const settle = (err: CameraError | null, answer?: Answer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(answer!);
    };
    const req = request({
      hostname: url.hostname,
      port: url.port || 80,
      path,
      method: 'GET',
      agent: opts.agent,
      headers: authorization ? { authorization, accept: 'image/jpeg' } : { accept: 'image/jpeg' },
    });
    const timer = setTimeout(() => settle(new CameraError('timeout', `snapshot: ${where} did not answer in time`)), left);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') return settle(new CameraError('refused', `snapshot: connection refused by ${where}`));
      if (err.code?.startsWith('HPE_')) return settle(new CameraError('not_onvif', `snapshot: ${where} did not answer with HTTP`));
      settle(new CameraError('unreachable', `snapshot: ${where}: ${err.message}`));
    });
    req.on('response', (res: IncomingMessage) => {
      const challenges: string[] = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        if (res.rawHeaders[i]!.toLowerCase() === 'www-authenticate') challenges.push(res.rawHeaders[i + 1]!);
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxBytes) {
        return settle(new CameraError('too_large', `snapshot: ${where} announced ${declared} bytes; the limit is ${opts.maxBytes} (cameras.snapshotMaxBytes)`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > opts.maxBytes) return settle(new CameraError('too_large', `snapshot: ${where} sent more than ${opts.maxBytes} bytes (cameras.snapshotMaxBytes)`));
        chunks.push(chunk);
      });
      res.on('end', () => settle(null, { status: res.statusCode ?? 0, challenges, body: Buffer.concat(chunks) }));
      res.on('error', () => settle(new CameraError('unreachable', `snapshot: ${where} broke off the answer`)));
      res.on('close', () => settle(new CameraError('unreachable', `snapshot: ${where} broke off the answer`)));
    });
    req.end();
  });
}
