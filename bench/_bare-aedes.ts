/**
 * Bare Aedes (no logins, no ACLs, no limits) in its own process: the baseline the gateway's broker is compared with.
 * Nagle off, as the gateway's broker has it. Binds port 0 and sends `{ port }` over IPC.
 *
 * BENCH_COUNT_TOPIC set: an in-process subscription on that filter counts what the broker takes in, the way the
 * gateway's own handlers take readings (the broker's intake limit, no subscriber socket in between).
 * IPC: `{ id, cmd: 'count' }` → `{ id, count }`.
 */
import { createServer, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';

const broker = await Aedes.createBroker();
const server = createServer((socket) => {
  socket.setNoDelay(true);
  broker.handle(socket);
});
let count = 0;
const topic = process.env.BENCH_COUNT_TOPIC;
if (topic) {
  await new Promise<void>((resolve) =>
    broker.subscribe(
      topic,
      (_packet, cb) => {
        count++;
        cb();
      },
      () => resolve(),
    ),
  );
}
process.on('message', (m: { id: number; cmd: string }) => {
  if (m.cmd === 'count') process.send?.({ id: m.id, count });
  else process.send?.({ id: m.id, error: `unknown command ${m.cmd}` });
});
const stop = (): void => broker.close(() => server.close(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('disconnect', stop);
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
