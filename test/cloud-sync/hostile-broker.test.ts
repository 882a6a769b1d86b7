/**
 * A city broker that turns hostile (compromised, or a man in the middle of a link without TLS) can send the gateway
 * any bytes. The city link reads each packet's size from its header before buffering it, so a PUBLISH declaring
 * 100 MB closes the connection instead of growing the gateway by what is streamed. The broker here is a raw TCP
 * server on loopback that speaks just enough MQTT (CONNACK, SUBACK) with mqtt-packet.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttTransport } from '../../cloud-sync/transports/mqtt.js';
import { captureLog } from '../helpers/log-capture.js';
import { waitFor } from '../helpers/gateway.js';
import { remainingLength } from '../helpers/raw-mqtt.js';

describe('a hostile city broker', () => {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let transport: MqttTransport | undefined;
  afterEach(async () => {
    await transport?.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  it('sending a PUBLISH that declares 100 MB is cut off at its header, and the link goes down saying why', async () => {
    let streamed = 0;
    let closedAfter = -1;
    server = createServer((socket: Socket) => {
      sockets.add(socket);
      const parser = mqttPacket.parser();
      parser.on('packet', (p) => {
        if (p.cmd === 'connect') socket.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }));
        if (p.cmd === 'subscribe') {
          socket.write(mqttPacket.generate({ cmd: 'suback', messageId: p.messageId, granted: [1] }));
          void (async () => {
            // A PUBLISH (QoS 0) on the commands topic whose remaining length says 100 MB, then its body in 64 KiB pieces.
            socket.write(Buffer.concat([Buffer.from([0x30]), remainingLength(100 * 1024 * 1024)]));
            const chunk = Buffer.alloc(64 * 1024, 0x41);
            while (streamed < 100 * 1024 * 1024 && !socket.destroyed && socket.writable) {
              if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r).once('close', r));
              streamed += chunk.length;
            }
            closedAfter = streamed;
          })();
        }
      });
      socket.on('data', (d) => parser.parse(d));
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const log = captureLog();
    const downs: (string | null)[] = [];
    const commands: number[] = [];
    transport = new MqttTransport({
      url: `mqtt://127.0.0.1:${port}`, clientId: 'school-1', topicFor: (s) => `city/${s}`, commandsTopic: 'city/commands/school-1',
      protocolVersion: 4, keepaliveS: 30, window: 8, backoff: { initialMs: 60_000, maxMs: 60_000 }, log: log.log, rejectUnauthorized: true,
    });
    transport.start({ onUp: () => {}, onDown: (e) => downs.push(e), onCommand: (p) => commands.push(p.length) });
    await waitFor(() => closedAfter >= 0, 20_000, 20);
    expect(closedAfter).toBeLessThan(8 * 1024 * 1024);
    expect(commands).toEqual([]);
    expect(downs.some((e) => e !== null && /too large|104857600/.test(e))).toBe(true);
  });
});
