/**
 * The link to the city, chosen from cloud.upstreamUrl: MQTT or HTTPS, the demo city sink in demo mode without an
 * upstream, or nothing (rows wait in the outbox) when sync is off or no upstream is configured.
 */
import { readFileSync } from 'node:fs';
import type { CloudConfig } from '../../config/cloud.js';
import type { Logger } from '../../gateway/core/logger.js';
import { DEMO_ONLY_COMMAND_KID, DEMO_ONLY_COMMAND_PRIVATE_KEY } from '../demo-command-key.js';
import { loadPrivateKey, signCommand } from '../signing.js';
import { DemoSinkTransport } from './demo-sink.js';
import { HttpsTransport } from './https.js';
import { MqttTransport } from './mqtt.js';
import type { Transport } from './types.js';

export interface TransportSetting {
  schoolId: string;
  demo: boolean;
  now: () => number;
  /** The upstream topic (or path) of a stream. */
  topic: (stream: string) => string;
  log: Logger;
}

/** Sends nothing: no upstream configured outside demo mode. Rows wait in the outbox (capped) until one is. */
class NoUpstream implements Transport {
  readonly kind = 'none' as const;
  readonly target = '(none configured: set cloud.upstreamUrl or CAMPUS_UPSTREAM_URL)';
  readonly maxBatch = 1;
  readonly maxBatchBytes = 1;
  readonly window = 1;
  readonly batchesInFlight = 1;
  start(): void {}
  ready(): boolean {
    return false;
  }
  connected(): boolean {
    return false;
  }
  send(): void {}
  async stop(): Promise<void> {}
}

export function chooseTransport(cfg: CloudConfig, { schoolId, demo, now, topic, log }: TransportSetting): Transport {
  const url = cfg.upstreamUrl;
  if (!cfg.enabled) return new NoUpstream();
  if (!url) {
    if (!demo) return new NoUpstream();
    const key = loadPrivateKey(DEMO_ONLY_COMMAND_PRIVATE_KEY);
    return new DemoSinkTransport(cfg.demoSinkSize, topic, () => now(), (command) => signCommand(command, key, DEMO_ONLY_COMMAND_KID));
  }
  const password = cfg.password ?? (cfg.passwordFile ? readFileSync(cfg.passwordFile, 'utf8').trim() : undefined);
  const protocol = new URL(url).protocol;
  // What both transports need to reach and prove themselves to the city.
  const link = {
    url,
    username: cfg.username,
    password,
    caFile: cfg.tls.caFile,
    certFile: cfg.tls.certFile,
    keyFile: cfg.tls.keyFile,
    rejectUnauthorized: cfg.tls.rejectUnauthorized,
    log,
  };
  if (protocol === 'mqtt:' || protocol === 'mqtts:') {
    return new MqttTransport({
      ...link,
      clientId: cfg.clientId ?? `campus-${schoolId}`.slice(0, 64),
      topicFor: topic,
      commandsTopic: topic('commands'),
      protocolVersion: cfg.mqttProtocolVersion,
      keepaliveS: cfg.keepaliveS,
      window: cfg.inflightWindow,
      backoff: cfg.backoff,
    });
  }
  if (protocol === 'https:' || protocol === 'http:') {
    return new HttpsTransport({
      ...link,
      schoolId: schoolId,
      batchMaxMessages: cfg.http.batchMaxMessages,
      batchMaxBytes: cfg.http.batchMaxBytes,
      timeoutMs: cfg.http.timeoutMs,
      commandPollS: cfg.http.commandPollS,
      now: () => now(),
    });
  }
  throw new Error(`cloud.upstreamUrl: unsupported scheme ${protocol} (use mqtt://, mqtts:// or https://)`);
}
