/**
 * A serial reader end to end through @serialport/binding-mock: bytes in at the binding, `tap.received` out on
 * the bus. The mock port is wrapped so a test can unplug it the way the OS does (the pending read fails, later
 * opens fail until it is plugged back).
 */
import { SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import type { SerialBinding } from '../../drivers/rfid/serial-reader.js';
import { waitFor } from '../helpers/gateway.js';
import { startReaders, type ReadersHarness } from './helpers.js';

/** @serialport/binding-mock's MockBinding, reached through serialport so it comes with its types under ESM. */
const MockBinding = SerialPortMock.binding;
type MockPortBinding = Awaited<ReturnType<typeof MockBinding.open>>;
type PortOf<B> = B extends { open(...a: never[]): Promise<infer P> } ? P : never;
type BindingPort = PortOf<SerialBinding>;

/** MockBinding whose ports can be pulled out and put back. */
function unpluggableMock() {
  let plugged = true;
  let current: { inner: MockPortBinding; unplug: (err: Error) => void } | undefined;
  const binding: SerialBinding = {
    list: () => MockBinding.list(),
    async open(options) {
      if (!plugged) throw new Error(`Error: No such file or directory, cannot open ${options.path}`);
      const inner: MockPortBinding = await MockBinding.open(options);
      let unplug: (err: Error) => void = () => {};
      const gone = new Promise<never>((_, reject) => (unplug = reject));
      gone.catch(() => {});
      const port: BindingPort = {
        get openOptions() {
          return inner.openOptions;
        },
        get isOpen() {
          return inner.isOpen;
        },
        close: () => inner.close(),
        // The OS fails a pending read with EIO when the device goes away; the stream then closes as disconnected.
        read: (buffer, offset, length) => Promise.race([inner.read(buffer, offset, length), gone]),
        write: (b) => inner.write(b),
        update: (o) => inner.update(o),
        set: (o) => inner.set(o),
        get: () => inner.get(),
        getBaudRate: () => inner.getBaudRate(),
        flush: () => inner.flush(),
        drain: () => inner.drain(),
      };
      current = { inner, unplug };
      return port;
    },
  };
  return {
    binding,
    emit(data: Buffer): void {
      if (!current?.inner.isOpen) throw new Error('port not open');
      current.inner.emitData(data);
    },
    isOpen: () => current?.inner.isOpen === true,
    unplug(): void {
      plugged = false;
      current?.unplug(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
    },
    plugIn(): void {
      plugged = true;
    },
  };
}

const em = (uid: string): Buffer => {
  const bytes = Buffer.from(uid, 'hex');
  const xor = bytes.reduce((a, b) => a ^ b, 0);
  return Buffer.from(`\x02${uid}${xor.toString(16).toUpperCase().padStart(2, '0')}\x03`, 'latin1');
};

let h: ReadersHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  MockBinding.reset();
});

describe('serial reader through @serialport/binding-mock', () => {
  it('turns RDM6300 frames into taps on the bus, split or together, and counts a bad checksum', async () => {
    MockBinding.createPort('/dev/ttyMOCK0', { echo: false, record: false });
    const mock = unpluggableMock();
    h = await startReaders(
      { readers: [{ id: 'gate-1', accessPoint: 'main-gate', debounceMs: 0, driver: { type: 'serial', path: '/dev/ttyMOCK0', profile: 'em-ascii' } }] },
      { serialBinding: mock.binding },
    );
    await waitFor(() => h!.module.reader('gate-1')?.state === 'up');
    const f1 = em('06008E6D5D');
    const f2 = em('0F0025A8B1');
    mock.emit(f1.subarray(0, 5));
    mock.emit(Buffer.concat([f1.subarray(5), Buffer.from('noise'), f2]));
    mock.emit(Buffer.from('\x0206008E6D5D00\x03', 'latin1')); // checksum should be B8
    mock.emit(f2);
    await waitFor(() => h!.taps.length >= 3);
    expect(h.taps.map((t) => [t.readerId, t.uid])).toEqual([
      ['gate-1', '06008E6D5D'],
      ['gate-1', '0F0025A8B1'],
      ['gate-1', '0F0025A8B1'],
    ]);
    const info = h.module.reader('gate-1')!;
    expect(info.counters).toEqual({ taps: 3, debounced: 0, dropped: { bad_checksum: 1 } });
    expect(await h.metric('campus_reader_dropped_total', { reader: 'gate-1', reason: 'bad_checksum' })).toBe(1);
  });

  it('marks the taps of a reader that prints decimal numbers as partial, so the card is found by its low bytes', async () => {
    MockBinding.createPort('/dev/ttyMOCK3', { echo: false, record: false });
    const mock = unpluggableMock();
    h = await startReaders(
      {
        readers: [
          { id: 'door-8', accessPoint: 'main-gate', debounceMs: 0, driver: { type: 'serial', path: '/dev/ttyMOCK3', profile: 'ascii-line', numberFormat: '8h10d' } },
        ],
      },
      { serialBinding: mock.binding },
    );
    await waitFor(() => h!.module.reader('door-8')?.state === 'up');
    // EM card 06008E6D5D as a cheap reader prints it: the low 4 bytes in decimal.
    mock.emit(Buffer.from('0009334109\r\n'));
    await waitFor(() => h!.taps.length === 1);
    expect(h.taps[0]).toMatchObject({ readerId: 'door-8', uid: '008E6D5D', partial: true });
  });

  it('counts a card held on the reader once per debounce window', async () => {
    MockBinding.createPort('/dev/ttyMOCK1', { echo: false, record: false });
    const mock = unpluggableMock();
    const clock = new ManualClock();
    h = await startReaders(
      { readers: [{ id: 'door-1', accessPoint: 'lab-1', debounceMs: 1500, driver: { type: 'serial', path: '/dev/ttyMOCK1', profile: 'em-ascii' } }] },
      { serialBinding: mock.binding, clock },
    );
    await waitFor(() => h!.module.reader('door-1')?.state === 'up');
    // The RDM6300 repeats the frame while the card is in the field: 5 frames within 1.2 s, then more after.
    for (let i = 0; i < 5; i++) {
      mock.emit(em('06008E6D5D'));
      await waitFor(() => h!.module.reader('door-1')!.counters.taps + h!.module.reader('door-1')!.counters.debounced === i + 1);
      clock.advance(300);
    }
    clock.advance(400); // 1.5 s after the first: a new window
    mock.emit(em('06008E6D5D'));
    await waitFor(() => h!.taps.length === 2);
    expect(h.module.reader('door-1')!.counters).toMatchObject({ taps: 2, debounced: 4 });
  });

  it('goes down when the port disappears, reports it in health, and reopens when it comes back', async () => {
    MockBinding.createPort('/dev/ttyMOCK2', { echo: false, record: false });
    const mock = unpluggableMock();
    h = await startReaders(
      {
        readers: [
          { id: 'gate-2', accessPoint: 'main-gate', debounceMs: 0, driver: { type: 'serial', path: '/dev/ttyMOCK2', profile: 'stx-bcc', reopenDelayMs: 50 } },
        ],
      },
      { serialBinding: mock.binding },
    );
    await waitFor(() => h!.module.reader('gate-2')?.state === 'up');
    expect(h.module.health!()).toMatchObject({ ok: true });
    mock.emit(Buffer.from('020A0206008E6D5DB003', 'hex'));
    await waitFor(() => h!.taps.length === 1);

    mock.unplug();
    const down = await waitFor(() => (h!.module.reader('gate-2')?.state === 'down' ? h!.module.reader('gate-2') : undefined));
    expect(down.detail).toMatch(/ttyMOCK2/);
    const health = h.module.health!();
    expect(health.ok).toBe(false);
    expect(health.detail).toMatch(/gate-2/);
    // Several reopen attempts fail while it is out; it stays down without flapping.
    await new Promise((r) => setTimeout(r, 200));
    expect(h.module.reader('gate-2')!.state).toBe('down');
    expect(h.module.reader('gate-2')!.detail).toMatch(/cannot open/);

    mock.plugIn();
    await waitFor(() => h!.module.reader('gate-2')?.state === 'up' && mock.isOpen());
    mock.emit(Buffer.from('020901 5630F009 97 03'.replace(/ /g, ''), 'hex'));
    await waitFor(() => h!.taps.length === 2);
    expect(h.taps[1]!.uid).toBe('5630F009');
    expect(h.module.health!()).toMatchObject({ ok: true });
    expect(await h.metric('campus_reader_up', { reader: 'gate-2' })).toBe(1);
  });
});
