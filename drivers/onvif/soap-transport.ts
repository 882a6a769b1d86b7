/**
 * The HTTP leg of every SOAP call of one `Cam`, in place of the library's `_requestPart2` (same requests, same
 * Digest handshake, same callback), with two bounds the library lacks: a reply larger than `maxReplyBytes` is
 * refused as soon as its Content-Length or its bytes pass the cap (the socket is dropped; the library buffers
 * whatever a camera sends), and the reply is parsed in linear time (soap-reply.ts) instead of through the
 * library's quadratic namespace-stripping regex. Installed on the instance, not on the prototype: other users of
 * the library in the process (Node-RED nodes) keep theirs.
 */
import { request, type Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Cam } from 'onvif';
import { CameraError } from '../../gateway/cameras/port.js';
import { checkReply, parseSoapBody } from './soap-reply.js';

type Callback = (err: Error | null, body?: unknown, xml?: string, statusCode?: number) => void;

/** What the library's methods pass to `_request` (cam.js), once `action` is known. */
interface SoapOptions {
  action?: string;
  service?: string;
  body: string;
  headers?: Record<string, string>;
  /** A parsed URL (subscription manager address) instead of the camera's own service paths. */
  url?: Record<string, unknown>;
  replyTimeout?: number;
}

/** The fields of a Cam this reads; the library's typings do not declare the private request methods. */
type CamInternals = Cam & {
  uri?: Record<string, { path?: string } | undefined>;
  _request: (options: SoapOptions, callback: Callback) => void;
  _requestPart2: (options: SoapOptions, callback: Callback) => void;
};

const actionName = (action: string | undefined): string => (action ?? '').split('/').pop() || 'SOAP call';

function digestChallenges(rawHeaders: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'www-authenticate' && rawHeaders[i + 1]!.startsWith('Digest')) out.push(rawHeaders[i + 1]!);
  }
  return out;
}

/**
 * The SOAP action of a request the library built (its own templates: trusted): the namespace and name of the first
 * element in the Body, e.g. `http://www.onvif.org/ver10/events/wsdl/PullMessages`; undefined for another shape.
 */
export function soapActionOf(body: string): string | undefined {
  const m = /<s:Body[^>]*>\s*<([A-Za-z]\w*)\s[^>]*?xmlns="([^"]+)"/.exec(body);
  return m ? `${m[2]}/${m[1]}` : undefined;
}

export function boundSoapTransport(cam: Cam, maxReplyBytes: number): void {
  const c = cam as CamInternals;
  // The library finds each request's action by parsing the request it just built with xml2js: with a few hundred
  // cameras pulling, that was a third of the gateway's CPU at rest. Read off directly; the library's way stays for
  // any request of another shape.
  const libraryRequest = c._request.bind(cam);
  c._request = (options, callback) => {
    options.action ??= soapActionOf(options.body);
    libraryRequest(options, callback);
  };
  const where = `${cam.hostname}:${cam.port}`;

  function send(options: SoapOptions, callback: Callback): void {
    let done = false;
    let req: ClientRequest | undefined;
    const finish = (err: Error | null, body?: unknown, xml?: string, status?: number): void => {
      if (done) return;
      done = true;
      callback(err, body, xml, status);
    };
    const tooLarge = (bytes: string): void => {
      finish(
        new CameraError('too_large', `${actionName(options.action)}: ${where} sent a reply of ${bytes} bytes; the limit is ${maxReplyBytes} (cameras.maxReplyBytes)`),
      );
      req?.destroy();
    };

    options.headers ??= {};
    const reqOptions: Record<string, unknown> = options.url ?? {
      hostname: cam.hostname,
      port: cam.port,
      agent: cam.agent as Agent,
      path: options.service ? (c.uri?.[options.service]?.path ?? options.service) : cam.path,
      timeout: cam.timeout,
    };
    reqOptions.headers = options.headers;
    Object.assign(options.headers, {
      'Content-Type': `application/soap+xml;charset=utf-8;action="${options.action}"`,
      'Content-Length': String(Buffer.byteLength(options.body, 'utf8')),
      charset: 'utf-8',
    });
    reqOptions.method = 'POST';

    req = request(reqOptions, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      // As the library does (ONVIF Core 5.9.1): a 401 to our Digest answer is a wrong password; a 401 with a
      // challenge is answered once with Digest; a 401 without one is read like any reply.
      if (status === 401 && options.headers!.Authorization !== undefined) {
        res.destroy();
        return finish(new Error(`Digest authentication failed ${status}`));
      }
      if (status === 401 && res.headers['www-authenticate'] !== undefined) {
        const challenges = digestChallenges(res.rawHeaders);
        res.destroy();
        if (challenges.length === 0) return finish(new Error(`Digest authentication headers not found ${status}`));
        if (done) return;
        done = true; // this attempt is over; the retry calls back
        try {
          options.headers!.Authorization = cam.digestAuth(challenges, reqOptions as { method?: string; path?: string });
        } catch (err) {
          return callback(err as Error);
        }
        return send(options, callback);
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxReplyBytes) return tooLarge(`${declared} (Content-Length)`);
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.length;
        if (size > maxReplyBytes) return tooLarge(`more than ${maxReplyBytes}`);
        chunks.push(chunk);
      });
      res.on('error', (err) => finish(err));
      res.on('end', () => {
        if (done) return;
        const xml = Buffer.concat(chunks, size).toString('utf8');
        cam.emit('rawResponse', xml, status);
        const checked = checkReply(xml);
        if (!checked.ok) {
          return finish(new CameraError('malformed', `${actionName(options.action)}: ${where} sent a reply we refuse to parse: ${checked.problem}`));
        }
        parseSoapBody(checked.xml, (err, body) => finish(err, body, xml, status));
      });
    });
    // Idle (as the library) and in total: a camera dripping a byte now and then must not hold a socket for ever.
    const replyTimeout = options.replyTimeout ?? cam.timeout;
    const timedOut = (): void => {
      finish(new Error('Network timeout'));
      req?.destroy();
    };
    req.setTimeout(replyTimeout, timedOut);
    const deadline = setTimeout(timedOut, replyTimeout * 2);
    deadline.unref();
    req.on('close', () => clearTimeout(deadline));
    req.on('error', (err) => finish(err));
    cam.emit('rawRequest', options.body);
    req.end(options.body);
  }

  c._requestPart2 = send;
}
