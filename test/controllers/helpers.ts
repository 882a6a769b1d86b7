/** Two fake controllers and a gateway configured for them, for the controller tests. */
import { createSocket, type Socket } from 'node:dgram';
import type { GatewayConfigInput } from '../../config/schema.js';
import { cardNumberOf } from '../../drivers/controllers/uhppote/plan.js';
import { startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import { FakeUhppote } from './fake-uhppote.js';

export const SERIAL_A = 405419896;
export const SERIAL_B = 303986753;

/** wg26: the controller's number for a UID is its low 3 bytes. */
export const wg26 = (uid: string): number => cardNumberOf(uid, 'wg26')!;

/** `bDoors`: how many doors the second controller has (4 by default; a test of a door it lacks gives it fewer). */
export async function startFakes(bDoors?: number): Promise<[FakeUhppote, FakeUhppote]> {
  const a = new FakeUhppote({ serial: SERIAL_A });
  const b = new FakeUhppote({ serial: SERIAL_B, ...(bDoors === undefined ? {} : { doors: bDoors }) });
  await a.start();
  await b.start();
  return [a, b];
}

/** A door of a controller as the config takes it. */
export type DoorInput = { accessPoint: string; direction: 'in' | 'out' };

/** `aDoors`: doors wired to the first controller beside its two on the main gate. */
export function controllersConfig(a: FakeUhppote, b: FakeUhppote, more: Record<string, unknown> = {}, aDoors: Record<string, DoorInput> = {}): GatewayConfigInput {
  return {
    controllers: {
      listen: '127.0.0.1:0',
      timeoutMs: 150,
      retries: 1,
      pollIntervalMs: 200,
      devices: [
        { id: 'ctl-a', serial: a.serial, address: a.address, doors: { '1': { accessPoint: 'main-gate', direction: 'in' }, '2': { accessPoint: 'main-gate', direction: 'out' }, ...aDoors } },
        { id: 'ctl-b', serial: b.serial, address: b.address, doors: { '1': { accessPoint: 'main-gate', direction: 'in' } } },
      ],
      ...more,
    },
  };
}

export interface ControllerView {
  id: string;
  state: string;
  clockDriftS: number | null;
  antiPassback: number | null;
  sync: {
    inSync: number; pending: number; planned: number; running: boolean; lastFullSync: string | null; lastError: string | null;
    leftOut: { count: number; cards: { card: number; uids: string[]; reason: string }[] };
  };
  events: { lastIndex: number | null; controllerLastIndex: number | null; taps: number; backfilled: number };
}

export async function controllers(gw: TestGateway, token: string): Promise<ControllerView[]> {
  return ((await (await gw.api('/api/v1/controllers', { token })).json()) as { items: ControllerView[] }).items;
}

/** Waits until every controller is online, fully synced once, with nothing pending. */
export async function settled(gw: TestGateway, token: string, ms = 20_000): Promise<ControllerView[]> {
  return waitFor(async () => {
    const list = await controllers(gw, token);
    return list.every((c) => c.state === 'online' && c.sync.lastFullSync !== null && c.sync.pending === 0 && !c.sync.running) ? list : null;
  }, ms, 50);
}

/** A hostile device on the controllers' LAN: the two fakes, a settled gateway polling each second, a UDP socket to attack from. */
export interface HostileLan {
  a: FakeUhppote;
  b: FakeUhppote;
  gw: TestGateway;
  token: string;
  attacker: Socket;
}

export async function startHostileLan(aDoors: Record<string, DoorInput> = {}): Promise<HostileLan> {
  const [a, b] = await startFakes();
  const gw = await startTestGateway({ demo: true, config: controllersConfig(a, b, { pollIntervalMs: 1000 }, aDoors) });
  const token = await gw.login('admin');
  await settled(gw, token);
  const attacker = createSocket('udp4');
  await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', () => r()));
  return { a, b, gw, token, attacker };
}

/** Stops what startHostileLan started; any part may be missing (a start that failed half-way). */
export async function stopHostileLan(lan: Partial<HostileLan>): Promise<void> {
  if (lan.attacker) await new Promise<void>((r) => lan.attacker!.close(() => r()));
  await lan.gw?.close();
  await lan.a?.stop();
  await lan.b?.stop();
}

export { startTestGateway, tempDir, waitFor, type TestGateway };
