/**
 * WS-Discovery Probe for ONVIF NetworkVideoTransmitters. Our own instead of the library's `Discovery`: that one
 * always sends to the multicast group (tests need loopback), is a process-wide singleton, and throws from an
 * `error` event nobody listens to when a device answers garbage.
 */
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { CameraError, type DiscoveredDevice, type DiscoveryOptions } from '../../gateway/cameras/port.js';

export function probeMessage(messageId: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"' +
    ' xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">' +
    '<s:Header>' +
    `<a:MessageID>${messageId}</a:MessageID>` +
    '<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>' +
    '<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>' +
    '</s:Header>' +
    '<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>' +
    '</s:Envelope>'
  );
}

/**
 * Text of the first element with this local name, whatever its namespace prefix. Anyone on the LAN can answer a
 * probe: this looks for the start tag, its '>' and the end tag once each, left to right, so a reply of 64 KB
 * of start tags with no end costs one pass (one regex with a lazy body rescanned the rest of the datagram from
 * every start tag: 1.6 s of blocked event loop per datagram).
 */
function element(xml: string, local: string): string | null {
  const open = new RegExp(`<(?:[\\w.-]+:)?${local}(?=[\\s/>])`, 'g');
  for (let m = open.exec(xml); m; m = open.exec(xml)) {
    const gt = xml.indexOf('>', m.index);
    if (gt < 0) return null;
    if (xml[gt - 1] === '/') {
      open.lastIndex = gt + 1; // <Address/>: empty, look further
      continue;
    }
    const close = new RegExp(`</(?:[\\w.-]+:)?${local}>`, 'g');
    close.lastIndex = gt + 1;
    const c = close.exec(xml);
    return c ? decodeXml(xml.slice(gt + 1, c.index).trim()) : null;
  }
  return null;
}

function decodeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

function scopeValue(scopes: string[], ...keys: string[]): string | null {
  for (const key of keys) {
    const prefix = `onvif://www.onvif.org/${key}/`;
    const hit = scopes.find((s) => s.toLowerCase().startsWith(prefix));
    if (hit) {
      try {
        return decodeURIComponent(hit.slice(prefix.length)).replace(/_/g, ' ');
      } catch {
        return hit.slice(prefix.length);
      }
    }
  }
  return null;
}

/** Parses one ProbeMatches reply; returns a reason string when it is not one. */
export function parseProbeMatch(xml: string, from: string, messageId: string | null): DiscoveredDevice | string {
  if (!/<(?:[\w.-]+:)?ProbeMatch[\s>]/.test(xml)) return 'not a ProbeMatches message';
  const relatesTo = element(xml, 'RelatesTo');
  if (messageId && relatesTo && relatesTo !== messageId) return 'answers another probe';
  const urn = element(xml, 'Address');
  if (!urn) return 'no EndpointReference address';
  const xaddrs = (element(xml, 'XAddrs') ?? '').split(/\s+/).filter(Boolean);
  const scopes = (element(xml, 'Scopes') ?? '').split(/\s+/).filter(Boolean);
  let host: string | null = null;
  let port: number | null = null;
  const parsed = xaddrs.flatMap((x) => {
    try {
      const u = new URL(x);
      return u.protocol === 'http:' || u.protocol === 'https:' ? [u] : [];
    } catch {
      return [];
    }
  });
  const best = parsed.find((u) => u.hostname === from) ?? parsed[0];
  if (best) {
    host = best.hostname;
    port = best.port ? Number(best.port) : best.protocol === 'https:' ? 443 : 80;
  }
  return {
    urn,
    address: from,
    xaddrs,
    host,
    port,
    manufacturer: scopeValue(scopes, 'mfr', 'manufacturer'),
    model: scopeValue(scopes, 'hardware', 'model'),
    name: scopeValue(scopes, 'name'),
    scopes,
  };
}

/** Sends one Probe and collects ProbeMatches until the timeout; one entry per device (by endpoint reference). */
export function discover(opts: DiscoveryOptions): Promise<DiscoveredDevice[]> {
  return new Promise((resolve, reject) => {
    const messageId = `urn:uuid:${randomUUID()}`;
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    const found = new Map<string, DiscoveredDevice>();
    let finished = false;
    const finish = (err?: Error): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // already closed
      }
      if (err) reject(err);
      else resolve([...found.values()]);
    };
    const timer = setTimeout(() => finish(), opts.timeoutMs);
    socket.on('error', (err) =>
      finish(new CameraError('unreachable', `discovery: cannot send the probe to ${opts.address}:${opts.port}: ${err.message}`)),
    );
    socket.on('message', (msg, rinfo) => {
      const result = parseProbeMatch(msg.toString('utf8'), rinfo.address, messageId);
      if (typeof result === 'string') opts.onInvalid?.(`${rinfo.address}:${rinfo.port}`, result);
      else if (!found.has(result.urn)) found.set(result.urn, result);
    });
    socket.bind(0, () => {
      try {
        if (/^2(2[4-9]|3\d)\./.test(opts.address)) socket.setMulticastTTL(1); // stay on the school's LAN segment
      } catch {
        // not fatal: the default TTL is 1 as well
      }
      const data = Buffer.from(probeMessage(messageId));
      socket.send(data, opts.port, opts.address, (err) => {
        if (err) finish(new CameraError('unreachable', `discovery: cannot send the probe to ${opts.address}:${opts.port}: ${err.message}`));
      });
    });
  });
}
