/**
 * The embedded broker's defaults as plain numbers, read by the config schema (`mqttConfig` in schema.ts) and by a
 * broker built without a config (gateway/broker/limits.ts, the broker bench).
 *
 * Kept apart from the schema on purpose: importing the schema to learn these numbers put the whole config schema
 * (~3 MB of zod objects, held for the life of the process) into a broker's heap, and every full collection under a
 * flood marks it again. In `npm run bench -- broker` that alone cost ~10 % of QoS 0 throughput (docs/operations.md).
 */
export const MQTT_DEFAULTS = {
  drainTimeoutMs: 10_000,
  maxTopicLevels: 10,
  maxPacketBytes: 64 * 1024,
  offlineUploadMaxBytes: 72 * 1024,
  connectTimeoutMs: 10_000,
  maxPendingConnections: 64,
  maxPendingPerAddress: 16,
  loginBackoff: { maxFailures: 5, baseDelayMs: 500, maxDelayMs: 4000, blockS: 300 },
  retainedPerDevice: { messages: 100, bytes: 256 * 1024 },
  publishRatePerDevice: { messagesPerS: 50, burst: 200 },
  maxSubscriptions: { device: 32, other: 1000 },
} as const;
