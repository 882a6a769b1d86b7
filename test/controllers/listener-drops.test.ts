/**
 * Pushes the kernel drops before the gateway reads them: the event listener's receive buffer full (a burst from many
 * controllers while the event loop is busy, or a flood from the LAN). Nothing in the gateway sees those packets, so
 * only the kernel's own count for the socket (/proc/net/udp, Linux) can say it happened.
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { encodeEventPacket, type ControllerStatus } from '../../drivers/controllers/uhppote/responses.js';
import { udpDrops } from '../../drivers/controllers/uhppote/listener-buffer.js';
import type { FakeUhppote } from './fake-uhppote.js';
import { controllersConfig, settled, startFakes, startTestGateway, waitFor, type TestGateway } from './helpers.js';

let a: FakeUhppote | undefined;
let b: FakeUhppote | undefined;
let gw: TestGateway | undefined;
let sender: Socket | undefined;
afterEach(async () => {
  if (sender) await new Promise<void>((r) => sender!.close(() => r()));
  await gw?.close();
  await a?.stop();
  await b?.stop();
  gw = a = b = sender = undefined;
});

const DROPS = /^campus_controller_listener_drops_total (\d+)$/m;

it.runIf(existsSync('/proc/net/udp'))('pushes the kernel dropped at the event listener, its receive buffer full, are counted in /metrics (not applicable: no /proc/net/udp, not Linux)', async () => {
  [a, b] = await startFakes();
  gw = await startTestGateway({ demo: true, config: controllersConfig(a, b, { pollIntervalMs: 1000 }) });
  const token = await gw.login('admin');
  await settled(gw, token);
  const scrape = async (): Promise<string> => (await gw!.api('/metrics', { token })).text();
  sender = createSocket('udp4');
  await new Promise<void>((r) => sender!.bind(0, '127.0.0.1', () => r()));
  const at = a.now();
  const status: ControllerStatus = {
    lastIndex: 1, event: { index: 1, type: 1, granted: true, door: 1, direction: 1, card: 1, timestamp: at, reason: 1 },
    doorsOpen: [false, false, false, false], buttons: [false, false, false, false], systemError: 0, systemTime: at, sequence: 0, specialInfo: 0, relays: 0, inputs: 0,
  };
  // From a serial no controller has: each one the gateway does read is dropped as unknown_controller, nothing recorded.
  const push = encodeEventPacket(123456789, status);
  // 30,000 pushes sent without yielding: the gateway (this process) reads none of them until the loop ends, and its
  // listener's buffer (1 MiB asked, at most 2 MiB as Linux counts it, ~830 bytes a packet) holds ~2,500.
  for (let i = 0; i < 30_000; i++) sender.send(push, a.listener.port, '127.0.0.1');
  // The kernel counts them as its softirq delivers them, a moment after the sends return.
  const text = await waitFor(async () => {
    const t = await scrape();
    return Number(DROPS.exec(t)?.[1] ?? 0) > 0 ? t : null;
  }, 5000, 50).catch(scrape);
  expect(text).toMatch(DROPS);
  const drops = Number(DROPS.exec(text)![1]);
  expect(drops).toBeGreaterThan(0);
  // What the gateway did read is counted by reason as before; the two add up to at most what was sent.
  const read = Number(/^campus_controller_packets_dropped_total\{reason="unknown_controller"\} (\d+)$/m.exec(await scrape())?.[1] ?? 0);
  expect(read).toBeGreaterThan(0);
  expect(read + drops).toBeLessThanOrEqual(30_000);
});

it('the drop count is read from the row of the listener\'s own address and port, whatever else is bound', () => {
  // Rows as Linux writes them (net/ipv4/udp.c udp4_format_sock): the address is the raw network-order word printed as
  // hex, so 127.0.0.1 reads 0100007F on a little-endian machine; the port is in host order; drops is the last column.
  const table = [
    '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            ',
    ' 1234: 0100007F:EA61 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 5456340 2 0000000088c70ebd 7       ',
    ' 1235: 00000000:EA61 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 5456341 2 0000000088c70ebe 42      ',
    ' 1236: 0100007F:EA62 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 5456342 2 0000000088c70ebf 3       ',
    '',
  ].join('\n');
  expect(udpDrops(table, '0.0.0.0', 60001, 'LE')).toBe(42);
  expect(udpDrops(table, '127.0.0.1', 60001, 'LE')).toBe(7);
  expect(udpDrops(table, '127.0.0.1', 60002, 'LE')).toBe(3);
  expect(udpDrops(table, '127.0.0.1', 60003, 'LE')).toBeUndefined();
  expect(udpDrops(table, '127.0.0.1', 60001, 'BE')).toBeUndefined();
  expect(udpDrops(table.replace('0100007F:EA61', '7F000001:EA61'), '127.0.0.1', 60001, 'BE')).toBe(7);
});
