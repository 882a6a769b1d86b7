/** A lockdown survives a restart of the gateway and is lifted by the API. */
import { describe, expect, it } from 'vitest';
import type { TapDecision } from '../../gateway/access/contract.js';
import { startTestGateway, tempDir } from '../helpers/gateway.js';

describe('lockdown', () => {
  it('keeps a lockdown across a restart until someone ends it', async () => {
    const dataDir = tempDir();
    let gw = await startTestGateway({ dataDir });
    const security = await gw.login('security');
    expect((await gw.api('/api/v1/lockdown', { method: 'POST', token: security, json: { reason: 'intruder' } })).status).toBe(200);
    await gw.close();

    gw = await startTestGateway({ dataDir });
    try {
      const admin = await gw.login('admin');
      expect(await (await gw.api('/api/v1/lockdown', { token: admin })).json()).toMatchObject({ active: true, reason: 'intruder' });
      const decided: TapDecision[] = [];
      gw.ctx.bus.on('tap.decided', (d) => decided.push(d));
      const tap = async (uid: string): Promise<TapDecision> => {
        const before = decided.length;
        gw.ctx.bus.emit('tap.received', { readerId: 'demo-gate-out', uid, at: Date.now() });
        for (let i = 0; i < 200 && decided.length === before; i++) await new Promise((r) => setTimeout(r, 10));
        return decided[decided.length - 1]!;
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
