/**
 * The event listener's receive buffer and the packets the kernel dropped because it was full. Those packets never
 * reach the gateway, so nothing in listener.ts can count them: only the kernel's own count for the socket can, which
 * Linux shows as the last column (`drops`) of /proc/net/udp. Elsewhere there is no such file and no metric.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { endianness } from 'node:os';
import type { Socket } from 'node:dgram';
import type { MetricFactory } from '../../../gateway/core/metrics.js';

/**
 * Asked for the listener's socket. Linux's default (net.core.rmem_default, 208 KiB) holds ~250 pushes: the kernel
 * charges each small datagram ~830 bytes (its whole socket buffer, not the 64-byte payload), so a few hundred
 * controllers pushing together while the event loop is held (a garbage collection, a large card sync) already lose
 * some. 1 MiB (2 MiB as Linux counts it) holds ~2,500, and costs memory only while packets wait. Linux caps it at
 * net.core.rmem_max (208 KiB on many systems): the module logs the size granted when it is less.
 */
export const RECEIVE_BUFFER_BYTES = 1024 * 1024;

const PROC_NET_UDP = '/proc/net/udp';

/**
 * Sets the socket's receive buffer and returns the size the kernel granted. Linux stores twice what it granted (the
 * other half for its bookkeeping) and reports that, so the request is compared with half of what it reports there.
 */
export function setReceiveBuffer(socket: Socket, bytes: number): { asked: number; granted: number } {
  socket.setRecvBufferSize(bytes);
  const reported = socket.getRecvBufferSize();
  return { asked: bytes, granted: process.platform === 'linux' ? Math.floor(reported / 2) : reported };
}

/** An IPv4 address as /proc/net/udp prints it: the address's network-order word as a native integer, in hex. */
function procAddress(host: string, order: 'LE' | 'BE'): string {
  const bytes = host.split('.').map((p) => Number(p).toString(16).toUpperCase().padStart(2, '0'));
  return (order === 'LE' ? bytes.reverse() : bytes).join('');
}

/**
 * The `drops` column of the /proc/net/udp row bound to `host:port`, or undefined when there is none. Found by the
 * local address and port, not the inode: the listener binds without SO_REUSEADDR/SO_REUSEPORT, so no other socket in
 * the namespace has that pair, and Node does not tell a socket's inode. The listener is IPv4 only (`controllers.listen`
 * is an IPv4 address), so /proc/net/udp6 never has its row.
 */
export function udpDrops(table: string, host: string, port: number, order: 'LE' | 'BE' = endianness()): number | undefined {
  const local = `${procAddress(host, order)}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of table.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // sl, local_address, rem_address, st, tx:rx queue, tr:when, retrnsmt, uid, timeout, inode, ref, pointer, drops
    if (cols.length >= 13 && cols[1] === local) return Number(cols[12]);
  }
  return undefined;
}

/**
 * `campus_controller_listener_drops_total`: the kernel's count for the listener's socket, read when /metrics is scraped
 * (a file read per scrape, nothing between). Not declared where there is no /proc/net/udp: absent rather than a 0
 * that would claim nothing was dropped.
 */
export function countListenerDrops(metrics: MetricFactory, bound: () => { address: string; port: number } | undefined): void {
  if (!existsSync(PROC_NET_UDP)) return;
  metrics.counterFrom(
    'campus_controller_listener_drops_total',
    'Controller pushes the kernel dropped before the gateway read them: the event listener\'s receive buffer was full',
    async () => {
      const at = bound();
      if (!at) return undefined;
      const table = await readFile(PROC_NET_UDP, 'utf8').catch(() => '');
      return udpDrops(table, at.address, at.port);
    },
  );
}
