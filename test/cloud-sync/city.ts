/** The city's side in tests: a receiver on the city broker, and the published contract as a validator. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { z } from 'zod';

const contractDir = join(import.meta.dirname, '..', '..', 'docs', 'city-contract');

/** The committed JSON Schema (not the zod source): what the city validates against. */
export function contractSchema(name = 'envelope'): z.ZodType {
  return z.fromJSONSchema(JSON.parse(readFileSync(join(contractDir, `${name}.schema.json`), 'utf8')));
}

export interface Received {
  topic: string;
  envelope: { id: string; stream: string; type: string; schoolId: string; occurredAt: string; sentAt: string; data: Record<string, unknown> };
}

export class CityReceiver {
  readonly messages: Received[] = [];
  private constructor(readonly client: MqttClient) {}

  /** A persistent QoS 1 session, so messages published while it reconnects after a broker restart wait for it. */
  static async connect(url: string, opts: IClientOptions = {}): Promise<CityReceiver> {
    const client = await mqtt.connectAsync(url, { clientId: `city-receiver-${process.pid}`, clean: false, reconnectPeriod: 200, ...opts });
    const r = new CityReceiver(client);
    client.on('message', (topic, payload) => {
      if (topic.endsWith('/commands')) return; // the city's own commands to the school
      r.messages.push({ topic, envelope: JSON.parse(payload.toString()) as Received['envelope'] });
    });
    await client.subscribeAsync('city/#', { qos: 1 });
    return r;
  }

  of(type: string): Received[] {
    return this.messages.filter((m) => m.envelope.type === type);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => {});
  }
}
