/** A lockdown survives a restart of the gateway and is lifted by the API. */
import { describe, expect, it } from 'vitest';
import type { TapDecision } from '../../gateway/access/contract.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { startTestGateway, tempDir, waitFor } from '../helpers/gateway.js';

// Tuesday 2026-09-01 10:00 in Shanghai: a school day inside every gate's hours, whenever the suite runs.
const TUE_10 = Date.UTC(2026, 8, 1, 2, 0, 0);

describe('lockdown', () => {
  it('keeps a lockdown across a restart until someone ends it', async () => {
    const dataDir = tempDir();
    const clock = new ManualClock(TUE_10);
    let gw = await startTestGateway({ dataDir, clock });
    const security = await gw.login('security');
    expect((await gw.api('/api/v1/lockdown', { method: 'POST', token: security, json: { reason: 'intruder' } })).status).toBe(200);
    await gw.close();

    gw = await startTestGateway({ dataDir, clock });
    try {
      const admin = await gw.login('admin');
      expect(await (await gw.api('/api/v1/lockdown', { token: admin })).json()).toMatchObject({ active: true, reason: 'intruder' });
      const decided: TapDecision[] = [];
      gw.ctx.bus.on('tap.decided', (d) => decided.push(d));
      // This tap's own decision, or a failure: never the previous tap's answer after a timed-out wait.
      const tap = async (uid: string): Promise<TapDecision> => {
        const before = decided.length;
        clock.advance(60_000); // past the reader's debounce window
        gw.ctx.bus.emit('tap.received', { readerId: 'demo-gate-out', uid, at: clock.now() });
        return waitFor(() => decided.slice(before).find((d) => d.uid === uid));
      };
      expect((await tap('0A1B2C3D')).reason).toBe('lockdown');
      expect((await tap('0BADCAFE')).reason).toBe('card_lost'); // card status is checked before the lockdown
      const ended = await gw.api('/api/v1/lockdown', { method: 'DELETE', token: admin });
      expect(await ended.json()).toMatchObject({ active: false });
      expect((await tap('0A1B2C3D')).reason).toBe('ok');
    } finally {
      await gw.close();
    }
  });
});
