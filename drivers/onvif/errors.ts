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
