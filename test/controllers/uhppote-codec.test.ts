/**
 * Golden tests of the UHPPOTE codec against the public byte captures in uhppoted/uhppoted-codegen
 * (test/controllers/uhppote-captures.json says where from). Each request is built from the capture's values and must
 * come out byte for byte; each reply is read back into the capture's values, and written again to the same bytes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../../drivers/controllers/uhppote/bytes.js';
import { decodeRequest, encodeRequest, type CardRecord, type Request } from '../../drivers/controllers/uhppote/messages.js';
import { decodeResponse, encodeResponse, type Response } from '../../drivers/controllers/uhppote/responses.js';

interface Capture {
  name: string;
  request?: { values: Record<string, string | number | boolean>; hex: string };
  response?: { values: Record<string, string | number | boolean>; hex: string };
}
const { captures } = JSON.parse(readFileSync(new URL('./uhppote-captures.json', import.meta.url), 'utf8')) as { captures: Capture[] };
const capture = (name: string): Capture => {
  const c = captures.find((x) => x.name === name);
  if (!c) throw new Error(`no capture "${name}"`);
  return c;
};
const SERIAL = 405419896;
const n = (v: string | number | boolean | undefined): number => Number(v);
const yes = (v: string | number | boolean | undefined): boolean => v === true || v === 'true';

/** The request each capture shows, built from its published values. */
const requests: Record<string, (v: Record<string, string | number | boolean>) => Request> = {
  'get controller': () => ({ type: 'get-controller' }),
  'get time': () => ({ type: 'get-time' }),
  'set time': (v) => ({ type: 'set-time', datetime: String(v.datetime) }),
  'get status': () => ({ type: 'get-status' }),
  'get listener': () => ({ type: 'get-listener' }),
  'set listener': (v) => ({ type: 'set-listener', address: String(v.address), port: n(v.port), interval: n(v.interval) }),
  'get door': (v) => ({ type: 'get-door-control', door: n(v.door) }),
  'set door': (v) => ({ type: 'set-door-control', door: n(v.door), mode: n(v.mode), delay: n(v.delay) }),
  'open door': (v) => ({ type: 'open-door', door: n(v.door) }),
  'get cards': () => ({ type: 'get-cards' }),
  'get card': (v) => ({ type: 'get-card', card: n(v.card) }),
  'get card at index': (v) => ({ type: 'get-card-at-index', index: n(v.index) }),
  'put card': (v) => ({
    type: 'put-card',
    record: { card: n(v.card), from: String(v['start date']), to: String(v['end date']), doors: [n(v.door1), n(v.door2), n(v.door3), n(v.door4)], pin: n(v.PIN) },
  }),
  'delete card': (v) => ({ type: 'delete-card', card: n(v.card) }),
  'delete cards': () => ({ type: 'delete-all-cards' }),
  'get event': (v) => ({ type: 'get-event', index: n(v.index) }),
  'get event index': () => ({ type: 'get-event-index' }),
  'set event index': (v) => ({ type: 'set-event-index', index: n(v.index) }),
  'record special events': (v) => ({ type: 'record-special-events', enabled: yes(v.enabled) }),
  'get time profile': (v) => ({ type: 'get-time-profile', profile: n(v.profile) }),
  'set time profile': (v) => ({
    type: 'set-time-profile',
    profile: {
      profile: n(v.profile),
      from: String(v['start date']),
      to: String(v['end date']),
      weekdays: [yes(v.monday), yes(v.tuesday), yes(v.wednesday), yes(v.thursday), yes(v.friday), yes(v.saturday), yes(v.sunday)],
      segments: [
        { start: String(v['segment 1 start']), end: String(v['segment 1 end']) },
        { start: String(v['segment 2 start']), end: String(v['segment 2 end']) },
        { start: String(v['segment 3 start']), end: String(v['segment 3 end']) },
      ],
      linked: n(v['linked profile id']),
    },
  }),
  'clear time profiles': () => ({ type: 'clear-time-profiles' }),
  'get antipassback': () => ({ type: 'get-anti-passback' }),
  'set antipassback': (v) => ({ type: 'set-anti-passback', mode: n(v.antipassback) }),
};

/** The reply each capture shows, from its published values. */
const responses: Record<string, (v: Record<string, string | number | boolean>) => Response> = {
  'get controller': (v) => ({
    type: 'get-controller', address: String(v['ip address']), netmask: String(v['subnet mask']), gateway: String(v.gateway),
    mac: String(v['MAC address']), version: String(v.version), released: String(v.date),
  }),
  'get time': (v) => ({ type: 'get-time', datetime: String(v['date time']) }),
  'set time': (v) => ({ type: 'set-time', datetime: String(v['date time']) }),
  'get status': (v) => ({
    type: 'get-status',
    status: {
      lastIndex: n(v['event index']),
      event: {
        index: n(v['event index']), type: n(v['event type']), granted: yes(v['event access granted']), door: n(v['event door']),
        direction: n(v['event direction']), card: n(v['event card']), timestamp: String(v['event timestamp']), reason: n(v['event reason']),
      },
      doorsOpen: [yes(v['door 1 open']), yes(v['door 2 open']), yes(v['door 3 open']), yes(v['door 4 open'])],
      buttons: [yes(v['door 1 button']), yes(v['door 2 button']), yes(v['door 3 button']), yes(v['door 4 button'])],
      systemError: n(v['system error']),
      systemTime: `${String(v['system date'])} ${String(v['system time'])}`,
      sequence: n(v['sequence no']),
      specialInfo: n(v['special info']),
      relays: n(v.relays),
      inputs: n(v.inputs),
    },
  }),
  'get listener': (v) => ({ type: 'get-listener', address: String(v.address), port: n(v.port), interval: n(v.interval) }),
  'set listener': (v) => ({ type: 'set-listener', ok: yes(v.ok) }),
  'get door': (v) => ({ type: 'get-door-control', door: n(v.door), mode: n(v.mode), delay: n(v.delay) }),
  'set door': (v) => ({ type: 'set-door-control', door: n(v.door), mode: n(v.mode), delay: n(v.delay) }),
  'open door': (v) => ({ type: 'open-door', ok: yes(v.ok) }),
  'get cards': (v) => ({ type: 'get-cards', count: n(v.cards) }),
  'get card': (v) => ({ type: 'get-card', record: cardOf(v) }),
  'get card at index': (v) => ({ type: 'get-card-at-index', record: cardOf(v) }),
  'put card': (v) => ({ type: 'put-card', ok: yes(v.ok) }),
  'delete card': (v) => ({ type: 'delete-card', ok: yes(v.ok) }),
  'delete cards': (v) => ({ type: 'delete-all-cards', ok: yes(v.ok) }),
  'get event': (v) => ({
    type: 'get-event',
    event: {
      index: n(v.index), type: n(v['event type']), granted: yes(v['access granted']), door: n(v.door), direction: n(v.direction),
      card: n(v.card), timestamp: String(v.timestamp), reason: n(v.reason),
    },
  }),
  'get event index': (v) => ({ type: 'get-event-index', index: n(v.index) }),
  'set event index': (v) => ({ type: 'set-event-index', ok: yes(v.ok) }),
  'record special events': (v) => ({ type: 'record-special-events', ok: yes(v.ok) }),
  'get time profile': (v) => ({
    type: 'get-time-profile',
    profile: {
      profile: n(v.profile), from: String(v['start date']), to: String(v['end date']),
      weekdays: [yes(v.monday), yes(v.tuesday), yes(v.wednesday), yes(v.thursday), yes(v.friday), yes(v.saturday), yes(v.sunday)],
      segments: [
        { start: String(v['segment 1 start']), end: String(v['segment 1 end']) },
        { start: String(v['segment 2 start']), end: String(v['segment 2 end']) },
        { start: String(v['segment 3 start']), end: String(v['segment 3 end']) },
      ],
      linked: n(v['linked profile']),
    },
  }),
  'set time profile': (v) => ({ type: 'set-time-profile', ok: yes(v.ok) }),
  'clear time profiles': (v) => ({ type: 'clear-time-profiles', ok: yes(v.ok) }),
  'get antipassback': (v) => ({ type: 'get-anti-passback', mode: n(v.antipassback) }),
  'set antipassback': (v) => ({ type: 'set-anti-passback', ok: yes(v.ok) }),
};

function cardOf(v: Record<string, string | number | boolean>): CardRecord {
  return {
    card: n(v.card), from: String(v['start date']), to: String(v['end date']),
    doors: [n(v['door 1']), n(v['door 2']), n(v['door 3']), n(v['door 4'])], pin: n(v.PIN),
  };
}

describe('UHPPOTE codec against the public captures', () => {
  for (const [name, build] of Object.entries(requests)) {
    it(`${name}: request bytes`, () => {
      const c = capture(name);
      const req = build(c.request!.values);
      expect(encodeRequest(SERIAL, req).toString('hex')).toBe(c.request!.hex);
      expect(decodeRequest(Buffer.from(c.request!.hex, 'hex'))).toEqual({ serial: SERIAL, request: req });
    });
  }
  for (const [name, build] of Object.entries(responses)) {
    it(`${name}: reply read and written`, () => {
      const c = capture(name);
      const bytes = Buffer.from(c.response!.hex, 'hex');
      const expected = build(c.response!.values);
      expect(decodeResponse(bytes)).toEqual({ serial: SERIAL, response: expected });
      expect(encodeResponse(SERIAL, expected).toString('hex')).toBe(c.response!.hex);
    });
  }

  it('get status with an empty log reads as no event', () => {
    const c = capture('get status no event');
    const { response } = decodeResponse(Buffer.from(c.response!.hex, 'hex'));
    expect(response.type).toBe('get-status');
    if (response.type === 'get-status') {
      expect(response.status.lastIndex).toBe(0);
      expect(response.status.event).toBeNull();
      expect(response.status.systemTime).toBe('2022-08-23 09:49:39');
    }
  });

  it('refuses what is not a packet, with a code', () => {
    const good = Buffer.from(capture('get time').response!.hex, 'hex');
    const code = (b: Buffer): string => {
      try {
        decodeResponse(b);
        return 'accepted';
      } catch (err) {
        return err instanceof CodecError ? err.code : 'threw something else';
      }
    };
    expect(code(good.subarray(0, 63))).toBe('bad_size');
    expect(code(Buffer.concat([good, Buffer.alloc(1)]))).toBe('bad_size');
    const badStart = Buffer.from(good);
    badStart[0] = 0x19;
    expect(code(badStart)).toBe('bad_start');
    const badFn = Buffer.from(good);
    badFn[1] = 0x01;
    expect(code(badFn)).toBe('unknown_function');
    const badBcd = Buffer.from(good);
    badBcd[9] = 0xff;
    expect(code(badBcd)).toBe('bad_bcd');
    const noMagic = Buffer.from(capture('delete cards').request!.hex, 'hex');
    noMagic[8] = 0;
    expect(() => decodeRequest(noMagic)).toThrow(CodecError);
    // Setting the event index also rewinds what the gateway backfills: its magic word sits after the index.
    const eventIndex = Buffer.from(capture('set event index').request!.hex, 'hex');
    expect(decodeRequest(eventIndex).request.type).toBe('set-event-index');
    eventIndex[12] = 0;
    expect(() => decodeRequest(eventIndex)).toThrow(CodecError);
  });
});
