/**
 * The `sync` baseline's publisher in its own process (production flags): bare mqtt.js publishing `n` messages at
 * QoS 1 with an in-flight window, the best a client can do against that broker.
 * IPC: `{ id, cmd: 'publish', url, topic, payload, n, window }` → `{ id, msgPerS }`.
 */
import mqtt from 'mqtt';

interface Publish {
  id: number;
  cmd: string;
  url: string;
  topic: string;
  payload: string;
  n: number;
  window: number;
}

async function publish(m: Publish): Promise<number> {
  const client = await mqtt.connectAsync(m.url, { clientId: 'bench-raw', clean: true, reconnectPeriod: 0 });
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    let inflight = 0;
    const pump = (): void => {
      while (inflight < m.window && sent < m.n) {
        sent++;
        inflight++;
        client.publish(m.topic, m.payload, { qos: 1 }, (err) => {
          if (err) return reject(err);
          inflight--;
          acked++;
          if (acked === m.n) resolve();
          else if (sent < m.n) pump();
        });
      }
    };
    pump();
  });
  const seconds = (performance.now() - started) / 1000;
  await client.endAsync();
  return m.n / seconds;
}

process.on('message', (m: Publish) => {
  if (m.cmd !== 'publish') return void process.send?.({ id: m.id, error: `unknown command ${m.cmd}` });
  publish(m).then(
    (msgPerS) => process.send?.({ id: m.id, msgPerS }),
    (err: unknown) => process.send?.({ id: m.id, error: String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
