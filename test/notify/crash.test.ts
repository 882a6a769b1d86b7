/**
 * The built gateway killed with SIGKILL between a tap and its message: the message was queued in the tap's own
 * transaction, so the restarted gateway sends it, once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startBin, type BinGateway } from '../helpers/bin.js';
import { nextMessage, tempDir, waitFor } from '../helpers/gateway.js';
import { FakeProviders } from './fake-providers.js';
import type { Item } from './helpers.js';

let fake: FakeProviders;
let running: BinGateway | undefined;
const dataDir = tempDir('campus-notify-crash-');

describe('a gateway killed between the tap and the send', () => {
  beforeAll(async () => {
    fake = await new FakeProviders().start();
    const token = join(dataDir, 'http-token');
    writeFileSync(token, 'Bearer http-test-token');
    const config = {
      nodeRed: { enabled: false },
      notify: {
        guardianChannel: 'school-gw',
        retry: { initialMs: 600_000, maxMs: 600_000 },
        // The tap's own message only: on a school day after the cut-off plus its grace (from 00:05 UTC) the demo
        // gateway also queues the morning's `absent` for the same student as it starts, and the count below was two.
        // (The tap's message is `arrival` before the cut-off and `late` after it: one message either way.)
        events: { absent: { enabled: false } },
        channels: [{ id: 'school-gw', type: 'http', url: `${fake.base}/http/send`, headerFiles: { authorization: token }, timeoutMs: 2000 }],
      },
    };
    writeFileSync(join(dataDir, 'config.json'), JSON.stringify(config));
  });
  afterAll(async () => {
    if (running) {
      running.child.kill('SIGKILL');
      await running.exited;
    }
    await fake?.stop();
  });

  it('sends the arrival exactly once after a kill -9 and a restart', async () => {
    const args = ['start', '--demo', '--config', join(dataDir, 'config.json')];
    const env = { CAMPUS_DATA_DIR: dataDir };
    fake.mode = '5xx';
    running = await startBin(args, env, 60_000);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${running.mqttPort}`, { reconnectPeriod: 0 });
    await client.subscribeAsync('campus/readers/demo-gate-in/decision');
    const decision = nextMessage(client, 'campus/readers/demo-gate-in/decision', 15_000);
    await client.publishAsync('campus/readers/demo-gate-in/tap', '0A1B2C3D', { qos: 1 });
    expect(JSON.parse((await decision).payload.toString())).toMatchObject({ granted: true });
    await client.endAsync(true);
    // The decision is answered after the tap's transaction commits; kill before the provider has taken anything.
    running.child.kill('SIGKILL');
    await running.exited;
    expect(fake.accepted).toEqual([]);

    fake.mode = 'ok';
    running = await startBin(args, env, 60_000);
    const token = await login(running.base);
    const items = await waitFor(async () => {
      const res = await fetch(`${running!.base}/api/v1/notifications?person=S20250001`, { headers: { authorization: `Bearer ${token}` } });
      const list = ((await res.json()) as { items: Item[] }).items;
      return list.length > 0 && list.every((i) => i.status !== 'queued') ? list : null;
    }, 20_000);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ status: 'sent', to: '138****8000' });
    expect(fake.accepted.filter((a) => a.to === '13800138000')).toHaveLength(1);
  }, 180_000);
});
