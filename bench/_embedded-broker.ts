/**
 * The gateway's embedded broker (gateway/broker) alone in its own process, as the gateway configures it: no
 * anonymous logins, a login and topic grants per device, a service login, and every limit of config.mqtt at its
 * default but the per-device publish rate (below). Binds port 0 and sends `{ port }` over IPC.
 *
 * Env: BENCH_BROKER_DEVICES (how many `reader-<i>` devices), BENCH_BROKER_SECRET (their and `monitor`'s secret).
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { MQTT_DEFAULTS } from '../config/mqtt-defaults.js';
import { hashSecret } from '../gateway/auth/secrets.js';
import { EmbeddedBroker } from '../gateway/broker/broker.js';
import { defaultBrokerLimits } from '../gateway/broker/limits.js';

const devices = Number(process.env.BENCH_BROKER_DEVICES ?? 8);
const secret = process.env.BENCH_BROKER_SECRET ?? '';
if (secret.length < 8) throw new Error('BENCH_BROKER_SECRET needs at least 8 characters');
const hash = await hashSecret(secret);
// The defaults of every broker limit (connection gate, packet sizes, quotas, login back-off), as a school gets them,
// but each device's publish rate: the bench's devices publish ~10,000 messages a second each, and at the default
// (200 at once, then 50 a second) it would measure that limit, not the broker. Its budget is still taken on every
// message, so what the check costs is in the figures. The defaults come as plain numbers (config/mqtt-defaults.ts),
// the ones the config schema gives a school: loading the schema to read them held ~3 MB of it in this process.
const mqtt = { ...defaultBrokerLimits(), publishRatePerDevice: { messagesPerS: 1e9, burst: 1e9 } };
const broker = new EmbeddedBroker({
  host: '127.0.0.1',
  port: 0,
  allowAnonymous: false,
  devices: Array.from({ length: devices }, (_, i) => ({
    id: `reader-${i}`,
    secretHash: hash,
    grants: { publish: [`campus/readers/reader-${i}`, `campus/readers/reader-${i}/#`], subscribe: [`campus/readers/reader-${i}/#`] },
  })),
  services: [{ username: 'monitor', secretHash: hash }],
  drainTimeoutMs: MQTT_DEFAULTS.drainTimeoutMs,
  maxTopicLevels: MQTT_DEFAULTS.maxTopicLevels,
  limits: mqtt,
  log: pino({ level: 'silent' }),
  metrics: new Registry(),
});
await broker.start();
const stop = (): void => void broker.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('disconnect', stop);
process.send?.({ port: broker.port });
