import type { MqttClient } from 'mqtt';
import type { ManualClock } from '../../gateway/core/clock.js';
import { nextMessage, startTestGateway, waitFor, type TestGateway, type TestGatewayOptions } from '../helpers/gateway.js';

export interface Item {
  id: number;
  event: string;
  personId: number | null;
  channel: string;
  to: string | null;
  status: string;
  reason?: string;
  attempts: number;
  createdAt: string;
  sentAt?: string;
}

/** A network reader's tap over MQTT; resolves with the reader's decision. */
export async function tap(client: MqttClient, readerId: string, uid: string, extra: Record<string, unknown> = {}): Promise<{ granted: boolean; reason: string; tapId: string }> {
  const next = nextMessage(client, `campus/readers/${readerId}/decision`);
  const body = Object.keys(extra).length ? JSON.stringify({ uid, ...extra }) : uid;
  await client.publishAsync(`campus/readers/${readerId}/tap`, body, { qos: 1 });
  return JSON.parse((await next).payload.toString()) as { granted: boolean; reason: string; tapId: string };
}

export async function notifications(gw: TestGateway, token: string, query = ''): Promise<Item[]> {
  const res = await gw.api(`/api/v1/notifications${query}`, { token });
  if (res.status !== 200) throw new Error(`notifications: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { items: Item[] }).items;
}

/** Waits until no row of the query is queued any more, and returns them. */
export async function settled(gw: TestGateway, token: string, query = '', ms = 10_000): Promise<Item[]> {
  return waitFor(async () => {
    const items = await notifications(gw, token, query);
    return items.length > 0 && items.every((i) => i.status !== 'queued') ? items : null;
  }, ms);
}

/** The demo school on a manual clock, an admin's token, and a device client listening to the readers' decisions. */
export async function demoSchool(clock: ManualClock, config?: TestGatewayOptions['config']): Promise<{ gw: TestGateway; client: MqttClient; admin: string }> {
  const gw = await startTestGateway({ demo: true, clock, ...(config ? { config } : {}) });
  const admin = await gw.login('admin');
  const client = await gw.mqttClient();
  await client.subscribeAsync('campus/readers/+/decision');
  return { gw, client, admin };
}
