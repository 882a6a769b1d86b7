/** `discover-controllers` against fake controllers on loopback: each answers get-controller, marked registered or not. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { discoverControllers } from '../../drivers/controllers/uhppote/discover.js';
import { FakeUhppote } from './fake-uhppote.js';

let known: FakeUhppote;

describe('discover-controllers', () => {
  beforeAll(async () => {
    known = new FakeUhppote({ serial: 405419896 });
    await known.start();
  });
  afterAll(async () => {
    await known?.stop();
  });

  it('lists a controller that answers the (here unicast) get-controller with its serial, address, firmware and registration', async () => {
    const config = validateConfig(
      {
        access: { accessPoints: [{ id: 'gate', name: 'Gate', kind: 'gate' }] },
        controllers: { listen: '127.0.0.1:0', devices: [{ id: 'ctl-a', serial: 405419896, address: known.address, doors: { '1': { accessPoint: 'gate' } } }] },
      },
      'test',
    );
    const found = await discoverControllers(config, { broadcast: known.address, waitMs: 300 });
    expect(found).toEqual([
      expect.objectContaining({ serial: 405419896, address: '127.0.0.1', firmware: 'v8.92', mac: '00:12:23:34:45:56', deviceId: 'ctl-a', addressMismatch: false }),
    ]);
    const unregistered = await discoverControllers(validateConfig({ controllers: { listen: '127.0.0.1:0' } }, 'test'), { broadcast: known.address, waitMs: 300 });
    expect(unregistered[0]).toMatchObject({ serial: 405419896, deviceId: null });
  });

  it('says where a controllers config is wrong, with the field path', () => {
    expect(() =>
      validateConfig(
        {
          access: { accessPoints: [{ id: 'gate', name: 'Gate', kind: 'gate' }] },
          controllers: {
            devices: [
              { id: 'c1', serial: 1, address: '10.0.0.5', doors: { '1': { accessPoint: 'gat' } } },
              { id: 'c1', serial: 1, address: '10.0.0.300' },
            ],
          },
        },
        'test',
      ),
    ).toThrow(/controllers\.devices\[1\]\.address/);
    expect(() =>
      validateConfig(
        {
          access: { accessPoints: [{ id: 'gate', name: 'Gate', kind: 'gate' }] },
          controllers: { devices: [{ id: 'c1', serial: 1, address: '10.0.0.5', doors: { '1': { accessPoint: 'gat' } } }, { id: 'c1', serial: 1, address: '10.0.0.6' }] },
        },
        'test',
      ),
    ).toThrow(
      /controllers\.devices\[0\]\.doors\.1\.accessPoint: "gat" is not an access point[\s\S]*controllers\.devices\[1\]\.id: "c1" is also[\s\S]*controllers\.devices\[1\]\.serial: 1 is also/,
    );
  });
});
