/** A WS-Discovery responder on loopback UDP: answers a Probe with a ProbeMatch, the way a camera does. */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface Responder {
  urn: string;
  xaddr: string;
  scopes: string[];
}

export class FakeDiscovery {
  private socket: Socket | undefined;
  port = 0;
  probes = 0;

  /** `responders` answer valid ProbeMatches; `garbage` replies are sent as well, to prove they are ignored. */
  constructor(
    private readonly responders: Responder[],
    private readonly garbage: string[] = [],
  ) {}

  async start(): Promise<void> {
    const socket = createSocket('udp4');
    socket.on('message', (msg, rinfo) => {
      const xml = msg.toString('utf8');
      const messageId = /<(?:\w+:)?MessageID>([^<]+)</.exec(xml)?.[1];
      if (!messageId || !/NetworkVideoTransmitter/.test(xml)) return;
      this.probes++;
      for (const g of this.garbage) socket.send(Buffer.from(g), rinfo.port, rinfo.address);
      for (const r of this.responders) {
        const reply =
          '<?xml version="1.0" encoding="UTF-8"?>' +
          '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
          'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">' +
          '<SOAP-ENV:Header>' +
          `<wsa:MessageID>urn:uuid:${Math.random().toString(16).slice(2)}</wsa:MessageID>` +
          `<wsa:RelatesTo>${messageId}</wsa:RelatesTo>` +
          '<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>' +
          '<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action>' +
          '</SOAP-ENV:Header><SOAP-ENV:Body><d:ProbeMatches><d:ProbeMatch>' +
          `<wsa:EndpointReference><wsa:Address>${r.urn}</wsa:Address></wsa:EndpointReference>` +
          '<d:Types>dn:NetworkVideoTransmitter</d:Types>' +
          `<d:Scopes>${r.scopes.join(' ')}</d:Scopes>` +
          `<d:XAddrs>${r.xaddr}</d:XAddrs>` +
          '<d:MetadataVersion>1</d:MetadataVersion>' +
          '</d:ProbeMatch></d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>';
        socket.send(Buffer.from(reply), rinfo.port, rinfo.address);
      }
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    this.socket = socket;
    this.port = (socket.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
