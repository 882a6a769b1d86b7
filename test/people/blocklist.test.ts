/**
 * The lost-card blocklist terminals keep for when they cannot reach the gateway: a version that rises with every
 * change, the changes since a version over REST, and the whole list retained on the broker for a terminal that
 * logs in with its own credentials.
 */
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { demoConfig } from '../../config/demo.js';
import { hashSecret } from '../../gateway/auth/secrets.js';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';

interface Entry {
  uid: string;
  match: string;
  status: string;
}
type List = { version: number; full: true; entries: Entry[] } | { version: number; full: false; since: number; added: Entry[]; removed: { uid: string; match: string }[] };

const POS_SECRET = 'pos-9-secret';

describe('card blocklist for terminals', () => {
  let gw: TestGateway;
  let admin: string;
  let security: string;
  // A fresh school per test: which cards are lost or blocked is each test's own doing.
  beforeEach(async () => {
    gw = await startTestGateway({
      config: {
        readers: [...demoConfig.readers!, { id: 'pos-9', accessPoint: 'canteen', driver: { type: 'mqtt', secretHash: await hashSecret(POS_SECRET) } }],
      },
    });
    admin = await gw.login();
    security = await gw.login('security');
  });
  afterEach(() => gw.close());

  const list = async (since?: number): Promise<List> => {
    const res = await gw.api(`/api/v1/cards/blocklist${since === undefined ? '' : `?since=${since}`}`, { token: admin });
    expect(res.status).toBe(200);
    return (await res.json()) as List;
  };
  const post = async (path: string, token = admin): Promise<void> => {
    expect((await gw.api(path, { method: 'POST', token, json: {} })).status).toBe(200);
  };

  it('lists lost and blocked cards and gives a terminal only what changed since its version', async () => {
    const first = await list();
    expect(first.full).toBe(true);
    if (!first.full) throw new Error('expected the whole list'); // (narrows the type; the expect above already failed)
    expect(first.entries).toContainEqual({ uid: '0BADCAFE', match: 'exact', status: 'lost' });
    expect(first.entries.some((e) => e.uid === '0A1B2C3D')).toBe(false);

    await post('/api/v1/cards/0A1B2C3D/lost', security);
    const afterLost = await list(first.version);
    expect(afterLost).toMatchObject({ full: false, since: first.version, added: [{ uid: '0A1B2C3D', match: 'exact', status: 'lost' }], removed: [] });
    expect(afterLost.version).toBeGreaterThan(first.version);

    // Lost, then blocked, then found: a terminal that slept through all three learns only the end.
    await post('/api/v1/cards/0A1B2C3D/block');
    await post('/api/v1/cards/0A1B2C3D/unblock');
    const afterUnblock = await list(afterLost.version);
    expect(afterUnblock).toMatchObject({ full: false, added: [], removed: [{ uid: '0A1B2C3D', match: 'exact' }] });
    expect(await list(afterUnblock.version)).toMatchObject({ version: afterUnblock.version, added: [], removed: [] });

    // A version the gateway never gave out (a restored backup) gets the whole list back.
    expect(await list(afterUnblock.version + 1000)).toMatchObject({ full: true, version: afterUnblock.version });
    expect((await gw.api('/api/v1/cards/blocklist?since=-1', { token: admin })).status).toBe(400);
    expect(((await (await gw.api('/api/v1/cards/blocklist?since=', { token: admin })).json()) as List).full).toBe(true);
  });

  it('keeps the whole list retained on campus/cards/blocklist for a terminal with its own login, and only the gateway writes it', async () => {
    const pos: MqttClient = await gw.mqttClient({ username: 'pos-9', password: POS_SECRET });
    const seen: List[] = [];
    pos.on('message', (topic, payload) => {
      if (topic === 'campus/cards/blocklist') seen.push(JSON.parse(payload.toString()) as List);
    });
    const granted = await pos.subscribeAsync('campus/cards/blocklist', { qos: 1 });
    expect(granted[0]!.qos).toBe(1);
    // The retained copy follows the changes above within the publisher's coalescing delay.
    const current = await list();
    await waitFor(() => seen.at(-1)?.version === current.version, 5000);
    expect(seen.at(-1)).toEqual(current);

    await post('/api/v1/cards/0A1B2C3D/lost', security);
    await waitFor(() => seen.at(-1)!.version > current.version, 5000);
    const latest = seen.at(-1)!;
    expect(latest.full && latest.entries.some((e) => e.uid === '0A1B2C3D' && e.status === 'lost')).toBe(true);

    // A forged list from a device is refused (the broker drops the client) and changes nothing.
    const closed = new Promise<void>((resolve) => pos.once('close', () => resolve()));
    pos.publish('campus/cards/blocklist', JSON.stringify({ version: 1e9, full: true, entries: [] }), { qos: 1, retain: true });
    await closed;
    const other = await gw.mqttClient({ username: 'pos-9', password: POS_SECRET });
    const retained = new Promise<List>((resolve) => other.on('message', (_t, p) => resolve(JSON.parse(p.toString()) as List)));
    await other.subscribeAsync('campus/cards/blocklist', { qos: 1 });
    expect((await retained).version).toBe(latest.version);
  });
});
