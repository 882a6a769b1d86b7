import { connect } from 'node:net';
import { CameraError } from '../../gateway/cameras/port.js';

/**
 * Turns whatever the onvif library, Node's HTTP client or xml2js produced into a CameraError whose message
 * names the likely cause: field reports show people point the client at the RTSP port, mistype passwords and
 * run cameras whose clocks drifted, and a bare "Wrong ONVIF SOAP response" helps none of them.
 */
export function classify(
  what: string,
  err: unknown,
  ctx: { host: string; port: number; lastStatus?: number | undefined; lastBody?: string | undefined },
): CameraError {
  if (err instanceof CameraError) return err;
  const e = err as NodeJS.ErrnoException;
  const msg = e instanceof Error ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : '';
  const at = `${ctx.host}:${ctx.port}`;
  const body = ctx.lastBody ?? '';

  if (code === 'ECONNREFUSED') {
    return new CameraError('refused', `${what}: connection refused by ${at}; is the camera on, and is ${ctx.port} its ONVIF (HTTP) port?`);
  }
  if (code === 'ETIMEDOUT' || /network timeout/i.test(msg)) {
    return new CameraError('timeout', `${what}: ${at} did not answer in time`);
  }
  if (['EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTDOWN'].includes(code)) {
    return new CameraError('unreachable', `${what}: cannot reach ${at} (${code}); check the address and the network`);
  }
  if (code.startsWith('HPE_') || /parse error/i.test(msg) || body.startsWith('RTSP/')) {
    const hint =
      ctx.port === 554 || body.startsWith('RTSP/')
        ? `port ${ctx.port} is the RTSP (video) port; set the camera's ONVIF port instead (usually 80, 8000 or 8080)`
        : 'is this the ONVIF (HTTP) port?';
    return new CameraError('not_onvif', `${what}: ${at} answered, but not with HTTP: ${hint}`);
  }
  if (code === 'ECONNRESET' || /socket hang up/i.test(msg)) {
    return new CameraError('unreachable', `${what}: ${at} closed the connection (rebooting, or not an ONVIF port?)`);
  }
  if (ctx.lastStatus === 401 || /digest authentication failed|not ?authori[sz]ed|unauthori[sz]ed|\b401\b/i.test(msg)) {
    return new CameraError(
      'unauthorized',
      `${what}: ${at} rejected the credentials (401/NotAuthorized): check the username and password and that the user may use ONVIF`,
    );
  }
  if (/ONVIF SOAP Fault/.test(msg)) {
    if (/resourceunknown|unknown subscription|subscription.*(not|no longer)|invalid.*(reference|address)/i.test(msg)) {
      return new CameraError('subscription_lost', `${what}: ${at} no longer knows the subscription (${msg.replace('ONVIF SOAP Fault: ', '')})`);
    }
    return new CameraError('fault', `${what}: ${at} refused: ${msg.replace('ONVIF SOAP Fault: ', '')}`);
  }
  if (ctx.lastStatus === 404) {
    return new CameraError('not_onvif', `${what}: ${at} answered 404: check the device service path (usually /onvif/device_service)`);
  }
  if (/wrong onvif soap response/i.test(msg) && /<html|<!doctype/i.test(body)) {
    return new CameraError('not_onvif', `${what}: ${at} answered with a web page, not SOAP: check the port and the device service path`);
  }
  return new CameraError('malformed', `${what}: ${at} sent an answer we cannot read (${msg.split('\n')[0]})`);
}

/**
 * The first line a port answers to an HTTP request, read off a raw socket. Node's HTTP parser accepts
 * `RTSP/1.0` status lines, so an RTSP server looks like an HTTP server with an empty body; this tells them apart
 * when a camera's first answer makes no sense.
 */
export function firstLineOf(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let data = '';
    const done = (line: string | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(line);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.on('error', () => done(null));
    socket.on('connect', () => socket.write(`POST /onvif/device_service HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const eol = data.indexOf('\r\n');
      if (eol >= 0 || data.length > 256) done(data.slice(0, eol >= 0 ? eol : 256));
    });
    socket.on('end', () => done(data || null));
  });
}

export function rtspPortError(what: string, host: string, port: number): CameraError {
  return new CameraError(
    'not_onvif',
    `${what}: ${host}:${port} speaks RTSP: that is the video port; set the camera's ONVIF (HTTP) port instead (usually 80, 8000 or 8080)`,
  );
}
