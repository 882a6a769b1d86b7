/**
 * `notify.departure: every_exit`: each exit is a message, but a child walking in and out (or a flapping pair of gate
 * readers) must not send the guardian one per tap: at most one in each ten minutes of the day.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import type { TestGateway } from '../helpers/gateway.js';
import { demoSchool, notifications, tap } from './helpers.js';

let gw: TestGateway;
let client: MqttClient;
let admin: string;
// A Tuesday, 15:00 in Shanghai: after the last lesson, no quiet hours.
const clock = new ManualClock(Date.parse('2026-09-01T15:00:00+08:00'));

describe('departure messages on every exit', () => {
  beforeAll(async () => {
    ({ gw, client, admin } = await demoSchool(clock, { notify: { departure: 'every_exit' } }));
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('sends one departure for twenty exits in a minute, and another after ten minutes', async () => {
    for (let i = 0; i < 20; i++) {
      expect(await tap(client, 'demo-gate-in', '0A1B2C3D', { seq: 2 * i + 1 })).toMatchObject({ granted: true });
      clock.advance(1000);
      expect(await tap(client, 'demo-gate-out', '0A1B2C3D', { seq: 2 * i + 2 })).toMatchObject({ granted: true });
      clock.advance(1000);
    }
    expect(await notifications(gw, admin, '?event=departure')).toHaveLength(1);
    clock.advance(10 * 60_000);
    expect(await tap(client, 'demo-gate-in', '0A1B2C3D', { seq: 101 })).toMatchObject({ granted: true });
    expect(await tap(client, 'demo-gate-out', '0A1B2C3D', { seq: 102 })).toMatchObject({ granted: true });
    expect(await notifications(gw, admin, '?event=departure')).toHaveLength(2);
  });
});
