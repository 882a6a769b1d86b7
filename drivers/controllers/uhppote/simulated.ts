/**
 * A simulated UHPPOTE/WeiGeng controller at the protocol level: a real UDP socket on 127.0.0.1 (ephemeral port) that
 * answers the codec's requests from its own state, as the public protocol description says a controller does. It
 * keeps a card store, an event log with indices, door states and a clock; it decides swipes alone from its card list
 * and pushes each event to the listener it was given. The demo school runs one (`controllers.devices[].simulated`),
 * and the tests' fake (test/controllers/fake-uhppote.ts) adds the faults a LAN brings on top of it.
 * Everything is bounded: at most MAX_CARDS cards and MAX_EVENTS events (oldest overwritten, as the real log does).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { localTime } from '../../../gateway/core/school-calendar.js';
import { decodeRequest, DOOR_MODE, type CardRecord, type Request, type TimeProfile } from './messages.js';
import { DELETED_CARD, encodeEventPacket, encodeResponse, EVENT_TYPE, NO_CARD, REASON, type ControllerEvent, type ControllerStatus, type Response } from './responses.js';

const MAX_CARDS = 60_000;
const MAX_EVENTS = 100_000;

export interface SimulatedControllerOptions {
  serial: number;
  /** The zone the controller's wall clock shows (it has none of its own). */
  timeZone?: string;
  /** Clock offset from the host's, ms (a drifting controller). */
  clockOffsetMs?: number;
  /** Doors it has (1, 2 or 4; default 4): a door beyond them answers get/set-door-control with mode 0. */
  doors?: number;
}

export class SimulatedController {
  readonly serial: number;
  readonly timeZone: string;
  clockOffsetMs: number;
  /** Card slots in insertion order (get card at index is 1-based); a deleted card leaves a DELETED slot. */
  protected slots: (CardRecord | null)[] = [];
  protected readonly slotOf = new Map<number, number>();
  readonly events: ControllerEvent[] = [];
  private firstIndex = 1;
  readonly doors: { open: boolean; mode: number; delay: number; unlockedUntil: number }[];
  readonly profiles = new Map<number, TimeProfile>();
  listener: { address: string; port: number; interval: number } = { address: '0.0.0.0', port: 0, interval: 0 };
  antiPassback = 0;
  /** Anti-passback: each card's side of its group last passed (group index → side), as the controller remembers it. */
  private readonly lastSide = new Map<number, Map<number, number>>();
  /** The 'event index' register a host may keep its read position in (separate from the log's last index). */
  readIndex = 0;
  recordSpecialEvents = false;
  protected socket: Socket | undefined;
  private boundPort = 0;

  constructor(opts: SimulatedControllerOptions) {
    this.serial = opts.serial;
    this.timeZone = opts.timeZone ?? 'Asia/Shanghai';
    this.clockOffsetMs = opts.clockOffsetMs ?? 0;
    this.doors = Array.from({ length: opts.doors ?? 4 }, () => ({ open: false, mode: DOOR_MODE.controlled as number, delay: 3, unlockedUntil: 0 }));
  }

  get port(): number {
    return this.boundPort;
  }
  get address(): string {
    return `127.0.0.1:${this.boundPort}`;
  }

  async start(port = 0): Promise<void> {
    const s = createSocket('udp4');
    s.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    s.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(port, '127.0.0.1', () => resolve());
    });
    this.socket = s;
    this.boundPort = s.address().port;
  }

  async stop(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Controller-local wall clock, "YYYY-MM-DD HH:MM:SS". */
  now(): string {
    const t = localTime(Date.now() + this.clockOffsetMs, this.timeZone);
    return `${t.date} ${t.time}`;
  }

  cards(): CardRecord[] {
    return this.slots.filter((s): s is CardRecord => s !== null);
  }
  card(card: number): CardRecord | undefined {
    const i = this.slotOf.get(card);
    return i === undefined ? undefined : (this.slots[i] ?? undefined);
  }
  get lastIndex(): number {
    return this.events.length === 0 ? 0 : this.firstIndex + this.events.length - 1;
  }

  /** A card presented at a door's reader: decided from the card list, logged, pushed. */
  swipe(card: number, door: number, direction: 1 | 2 = 1): ControllerEvent {
    let { granted, reason } = this.decide(card, door);
    const place = this.passbackPlace(door);
    if (granted && place && this.lastSide.get(card)?.get(place.group) === place.side) ({ granted, reason } = { granted: false, reason: REASON.deniedAntiPassback });
    if (granted && place) this.lastSide.set(card, (this.lastSide.get(card) ?? new Map<number, number>()).set(place.group, place.side));
    if (granted) this.doors[door - 1]!.unlockedUntil = Date.now() + this.doors[door - 1]!.delay * 1000;
    return this.log({ type: EVENT_TYPE.card, granted, door, direction, card, reason });
  }

  /** The door's sensor: opening without an unlock (swipe, button, remote) is a forced-open alarm. */
  setDoorOpen(door: number, open: boolean): ControllerEvent {
    const d = this.doors[door - 1]!;
    d.open = open;
    if (open && Date.now() > d.unlockedUntil && d.mode !== DOOR_MODE.normallyOpen) {
      return this.log({ type: EVENT_TYPE.alarm, granted: false, door, direction: 1, card: 0, reason: REASON.forcedOpen });
    }
    return this.log({ type: EVENT_TYPE.door, granted: open, door, direction: 1, card: 0, reason: open ? REASON.doorOpen : REASON.doorClosed });
  }

  /** The controller's own "open too long" alarm. */
  heldOpenAlarm(door: number): ControllerEvent {
    return this.log({ type: EVENT_TYPE.alarm, granted: false, door, direction: 1, card: 0, reason: REASON.openTooLong });
  }

  /**
   * Where a door's reader sits in the current anti-passback mode (uhppoted's description of modes 1–4): a card that
   * passed one side of a group is refused on that side until it passes the other.
   */
  private passbackPlace(door: number): { group: number; side: number } | undefined {
    const modes: Record<number, number[][][]> = {
      1: [[[1], [2]], [[3], [4]]],
      2: [[[1, 3], [2, 4]]],
      3: [[[1], [2, 3]]],
      4: [[[1], [2, 3, 4]]],
    };
    const groups = modes[this.antiPassback] ?? [];
    for (const [group, sides] of groups.entries()) {
      const side = sides.findIndex((s) => s.includes(door));
      if (side >= 0) return { group, side };
    }
    return undefined;
  }

  private decide(card: number, door: number): { granted: boolean; reason: number } {
    const mode = this.doors[door - 1]!.mode;
    if (mode === DOOR_MODE.normallyClosed) return { granted: false, reason: REASON.deniedNormallyClosed };
    const r = this.card(card);
    if (!r) return { granted: false, reason: REASON.deniedNoAccess };
    const [date, time] = this.now().split(' ') as [string, string];
    if ((r.from && date < r.from) || (r.to && date > r.to)) return { granted: false, reason: REASON.deniedNoAccess };
    const perm = r.doors[door - 1] ?? 0;
    if (perm === 0) return { granted: false, reason: REASON.deniedNoAccess };
    if (perm === 1) return { granted: true, reason: REASON.cardOk };
    return this.inProfile(perm, date, time.slice(0, 5), 0) ? { granted: true, reason: REASON.cardOk } : { granted: false, reason: REASON.deniedLimitedTimes };
  }

  private inProfile(id: number, date: string, hhmm: string, depth: number): boolean {
    const p = this.profiles.get(id);
    if (!p || depth > 4) return false;
    const weekday = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7;
    const inside =
      date >= p.from && date <= p.to && p.weekdays[weekday] === true && p.segments.some((s) => s.start !== '00:00' && s.start <= hhmm && hhmm < s.end);
    return inside || (p.linked !== 0 && this.inProfile(p.linked, date, hhmm, depth + 1));
  }

  protected log(e: Omit<ControllerEvent, 'index' | 'timestamp'>): ControllerEvent {
    const event: ControllerEvent = { ...e, index: this.lastIndex + 1, timestamp: this.now() };
    this.events.push(event);
    if (this.events.length > MAX_EVENTS) {
      this.events.shift();
      this.firstIndex++;
    }
    this.push(event);
    return event;
  }

  protected status(event: ControllerEvent | null): ControllerStatus {
    return {
      lastIndex: event?.index ?? 0,
      event,
      doorsOpen: [0, 1, 2, 3].map((i) => this.doors[i]?.open === true) as ControllerStatus['doorsOpen'],
      buttons: [false, false, false, false],
      systemError: 0,
      systemTime: this.now(),
      sequence: 0,
      specialInfo: 0,
      relays: this.doors.reduce((bits, d, i) => bits | (Date.now() < d.unlockedUntil ? 1 << i : 0), 0),
      inputs: 0,
    };
  }

  protected push(event: ControllerEvent): void {
    const { address, port } = this.listener;
    if (!this.socket || port === 0 || address === '0.0.0.0') return;
    this.socket.send(encodeEventPacket(this.serial, this.status(event)), port, address);
  }

  protected eventAt(index: number): ControllerEvent | undefined {
    return this.events[index - this.firstIndex];
  }

  protected onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    let decoded: { serial: number; request: Request };
    try {
      decoded = decodeRequest(msg);
    } catch {
      return; // a real controller ignores what it cannot read
    }
    const { serial, request } = decoded;
    if (serial !== this.serial && !(serial === 0 && request.type === 'get-controller')) return;
    this.handle(request, rinfo);
  }

  /** Answers one request it accepted (addressed to it, readable). */
  protected handle(request: Request, rinfo: RemoteInfo): void {
    this.reply(this.answer(request), rinfo);
  }

  protected reply(response: Response, rinfo: RemoteInfo): void {
    this.socket?.send(encodeResponse(this.serial, response), rinfo.port, rinfo.address);
  }

  private answer(r: Request): Response {
    switch (r.type) {
      case 'get-controller':
        return { type: r.type, address: '127.0.0.1', netmask: '255.0.0.0', gateway: '0.0.0.0', mac: '00:12:23:34:45:56', version: 'v8.92', released: '2018-11-05' };
      case 'get-time':
        return { type: r.type, datetime: this.now() };
      case 'set-time': {
        const [d, t] = r.datetime.split(' ') as [string, string];
        const wanted = Date.parse(`${d}T${t}Z`);
        const shown = Date.parse(this.now().replace(' ', 'T') + 'Z');
        this.clockOffsetMs += wanted - shown;
        return { type: r.type, datetime: this.now() };
      }
      case 'get-status':
        return { type: r.type, status: this.status(this.eventAt(this.lastIndex) ?? null) };
      case 'get-listener':
        return { type: r.type, ...this.listener };
      case 'set-listener':
        this.listener = { address: r.address, port: r.port, interval: r.interval };
        return { type: r.type, ok: true };
      case 'get-door-control':
      case 'set-door-control': {
        const d = this.doors[r.door - 1];
        if (!d) return { type: r.type, door: r.door, mode: 0, delay: 0 };
        if (r.type === 'set-door-control') Object.assign(d, { mode: r.mode, delay: r.delay });
        return { type: r.type, door: r.door, mode: d.mode, delay: d.delay };
      }
      case 'open-door': {
        const d = this.doors[r.door - 1];
        if (!d) return { type: r.type, ok: false };
        d.unlockedUntil = Date.now() + d.delay * 1000;
        this.log({ type: EVENT_TYPE.door, granted: true, door: r.door, direction: 1, card: 0, reason: REASON.remoteOpen });
        return { type: r.type, ok: true };
      }
      case 'get-cards':
        return { type: r.type, count: this.slots.length };
      case 'get-card':
        return { type: r.type, record: this.card(r.card) ?? emptyCard(NO_CARD) };
      case 'get-card-at-index': {
        if (r.index < 1 || r.index > this.slots.length) return { type: r.type, record: emptyCard(NO_CARD) };
        return { type: r.type, record: this.slots[r.index - 1] ?? emptyCard(DELETED_CARD) };
      }
      case 'put-card': {
        const i = this.slotOf.get(r.record.card);
        if (i !== undefined) this.slots[i] = r.record;
        else if (this.slotOf.size >= MAX_CARDS || r.record.card === NO_CARD || r.record.card === DELETED_CARD) return { type: r.type, ok: false };
        else {
          this.slotOf.set(r.record.card, this.slots.length);
          this.slots.push(r.record);
        }
        return { type: r.type, ok: true };
      }
      case 'delete-card': {
        const i = this.slotOf.get(r.card);
        if (i === undefined) return { type: r.type, ok: false };
        this.slots[i] = null;
        this.slotOf.delete(r.card);
        return { type: r.type, ok: true };
      }
      case 'delete-all-cards':
        this.slots = [];
        this.slotOf.clear();
        return { type: r.type, ok: true };
      case 'get-event': {
        const e = this.eventAt(r.index);
        return { type: r.type, event: e ?? { index: r.index, type: r.index < this.firstIndex ? EVENT_TYPE.overwritten : 0, granted: false, door: 0, direction: 0, card: 0, timestamp: null, reason: 0 } };
      }
      case 'get-event-index':
        return { type: r.type, index: this.readIndex };
      case 'set-event-index':
        this.readIndex = r.index;
        return { type: r.type, ok: true };
      case 'clear-time-profiles':
      case 'set-anti-passback':
      case 'record-special-events':
        if (r.type === 'clear-time-profiles') this.profiles.clear();
        if (r.type === 'set-anti-passback') {
          if (r.mode > 4) return { type: r.type, ok: false };
          this.antiPassback = r.mode;
          this.lastSide.clear();
        }
        if (r.type === 'record-special-events') this.recordSpecialEvents = r.enabled;
        return { type: r.type, ok: true };
      case 'get-time-profile':
        return { type: r.type, profile: this.profiles.get(r.profile) ?? { ...emptyProfile(), profile: 0 } };
      case 'set-time-profile':
        if (r.profile.profile < 2 || r.profile.profile > 254) return { type: r.type, ok: false };
        this.profiles.set(r.profile.profile, r.profile);
        return { type: r.type, ok: true };
      case 'get-anti-passback':
        return { type: r.type, mode: this.antiPassback };
    }
  }
}

const emptyCard = (card: number): CardRecord => ({ card, from: '', to: '', doors: [0, 0, 0, 0], pin: 0 });
const emptyProfile = (): TimeProfile => ({
  profile: 0, from: '2000-01-01', to: '2000-01-01', weekdays: [false, false, false, false, false, false, false],
  segments: [{ start: '00:00', end: '00:00' }, { start: '00:00', end: '00:00' }, { start: '00:00', end: '00:00' }], linked: 0,
});
