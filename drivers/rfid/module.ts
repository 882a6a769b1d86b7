/**
 * The readers as a gateway module: creates every configured reader, debounces and counts what they report, and
 * puts each accepted tap on the bus as `tap.received`. `GET /api/v1/readers` shows each reader's state and
 * counters; `/healthz` turns degraded while a reader is down (a serial port unplugged, node-rfid missing).
 */
import type { Router } from 'express';
import type { Counter, Gauge } from 'prom-client';
import type { ReaderConfig } from '../../config/readers.js';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../../gateway/module/context.js';
import { notFound } from '../../gateway/core/errors.js';
import { MetricFactory } from '../../gateway/core/metrics.js';
import type { Logger } from '../../gateway/core/logger.js';
import { getMeta, setMeta } from '../../gateway/storage/meta.js';
import type { Tap } from '../../gateway/core/taps.js';
import type { Guards } from '../../gateway/http/guards.js';
import { Debouncer } from './debounce.js';
import { MqttReader, NetworkReaderHub, type RejectReason } from './mqtt-readers.js';
import { RateLimitedLog } from '../../gateway/core/rate-limited-log.js';
import { loadNodeRfid, Rc522Reader, type NodeRfidLoader } from './rc522-reader.js';
import type { SerialBinding } from './serial-reader.js';
import { SimulatedCampus, SimulatedReader, type SeqSource, type SimulatedPattern } from './simulated-reader.js';
import { ReaderBase, type ReaderDriverType, type ReaderHooks, type ReaderStatus, type TapSource } from './types.js';

export interface ReadersModuleOptions {
  /** UIDs the simulated readers tap with (the composition root reads the active cards). */
  cardPool: () => readonly string[];
  /**
   * Whether an access point's timetable lets students through at a real time (the composition root asks the access
   * domain). Where it does not, a simulated reader taps only now and then, as a late student at a closed gate would.
   */
  openToStudents?: (accessPointId: string, at: number) => boolean;
  /** The serialport binding; the platform's when absent (loaded only if a serial reader is configured). */
  serialBinding?: SerialBinding;
  loadNodeRfid?: NodeRfidLoader;
  /** Randomness of the simulated readers; tests pass a seeded one. */
  random?: () => number;
}

export interface ReaderInfo {
  id: string;
  accessPoint: string;
  direction?: 'in' | 'out';
  driver: ReaderDriverType;
  state: ReaderStatus['state'];
  detail?: string;
  since: string;
  lastTapAt: string | null;
  counters: { taps: number; debounced: number; dropped: Record<string, number> };
}

export interface ReadersModule extends GatewayModule {
  readers(): ReaderInfo[];
  reader(id: string): ReaderInfo | undefined;
}

/** One reader with its bookkeeping; implements the hooks its source reports to. */
class ReaderRuntime implements ReaderHooks {
  source!: TapSource;
  lastTapAt: number | null = null;
  taps = 0;
  debounced = 0;
  readonly dropped: Record<string, number> = {};
  private readonly debouncer: Debouncer;

  constructor(
    readonly config: ReaderConfig,
    private readonly m: Metrics,
    private readonly log: Logger,
    private readonly emit: (tap: Tap) => void,
  ) {
    this.debouncer = new Debouncer(config.debounceMs);
  }

  tap(t: Tap): void {
    if (!this.debouncer.accept(t.uid, t.at, t.seq)) {
      this.debounced++;
      this.m.debounced.inc({ reader: this.config.id });
      return;
    }
    this.taps++;
    this.lastTapAt = t.at;
    this.m.taps.inc({ reader: this.config.id });
    const tap: Tap = { readerId: this.config.id, uid: t.uid, at: t.at };
    if (t.seq !== undefined) tap.seq = t.seq;
    if (t.amount !== undefined) tap.amount = t.amount;
    if (t.pin !== undefined) tap.pin = t.pin;
    if (t.partial) tap.partial = true;
    this.emit(tap);
  }

  drop(reason: string, count = 1): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + count;
    this.m.dropped.inc({ reader: this.config.id, reason }, count);
  }

  stateChanged(s: ReaderStatus): void {
    this.m.up.set({ reader: this.config.id }, s.state === 'up' ? 1 : 0);
    const fields = { reader: this.config.id, driver: this.config.driver.type, state: s.state, detail: s.detail };
    if (s.state === 'down') this.log.warn(fields, 'card reader down');
    else if (s.state === 'up') this.log.info(fields, 'card reader up');
    else this.log.debug(fields, 'card reader state');
  }

  info(): ReaderInfo {
    const s = this.source.state();
    return {
      id: this.config.id,
      accessPoint: this.config.accessPoint,
      ...(this.config.direction ? { direction: this.config.direction } : {}),
      driver: this.config.driver.type,
      state: s.state,
      ...(s.detail ? { detail: s.detail } : {}),
      since: new Date(s.since).toISOString(),
      lastTapAt: this.lastTapAt === null ? null : new Date(this.lastTapAt).toISOString(),
      counters: { taps: this.taps, debounced: this.debounced, dropped: { ...this.dropped } },
    };
  }
}

/** A reader that cannot run at all in this configuration; shown as down with the reason. */
class UnavailableReader extends ReaderBase {
  constructor(
    id: string,
    readonly type: ReaderDriverType,
    private readonly why: string,
    hooks: ReaderHooks,
    now: () => number,
  ) {
    super(id, hooks, now);
  }
  async start(): Promise<void> {
    this.setState('down', this.why);
  }
  async stop(): Promise<void> {
    this.setState('stopped');
  }
}

interface Metrics {
  taps: Counter<'reader'>;
  debounced: Counter<'reader'>;
  dropped: Counter<'reader' | 'reason'>;
  up: Gauge<'reader'>;
  rejected: Counter<'reason'>;
  rc522: Counter<'reader' | 'outcome'>;
}

function createMetrics(ctx: GatewayContext): Metrics {
  const m = new MetricFactory(ctx.metrics);
  return {
    taps: m.counter('campus_reader_taps_total', 'Taps put on the bus, by reader', ['reader']),
    debounced: m.counter('campus_reader_debounced_total', 'Repeats of a card inside its reader debounce window, not counted as taps', ['reader']),
    dropped: m.counter(
      'campus_reader_dropped_total',
      'Frames or messages from a reader thrown away, by reason (bad_checksum, bad_length, malformed_json, …)',
      ['reader', 'reason'],
    ),
    up: m.gauge('campus_reader_up', '1 while a reader is taking cards', ['reader']),
    rejected: m.counter(
      'campus_reader_rejected_messages_total',
      'Messages on campus/readers/+/tap and +/offline not taken, by reason (unknown_reader, malformed_json, bad_payload, bad_uid, too_large)',
      ['reason'],
    ),
    rc522: m.counter('campus_reader_rc522_reads_total', 'RC522 read attempts through node-rfid, by outcome', ['reader', 'outcome']),
  };
}

/** Simulated POS transaction numbers, reserved in blocks in the meta table so a restart never reuses one. */
class MetaSeqSource implements SeqSource {
  private readonly blocks = new Map<string, { next: number; limit: number }>();
  constructor(
    private readonly ctx: GatewayContext,
    private readonly block = 100,
  ) {}
  next(readerId: string): number {
    let b = this.blocks.get(readerId);
    if (!b || b.next >= b.limit) {
      const key = `simulated_seq:${readerId}`;
      const start = Number(getMeta(this.ctx.db, key) ?? '1');
      b = { next: start, limit: start + this.block };
      setMeta(this.ctx.db, key, String(b.limit));
      this.blocks.set(readerId, b);
    }
    return b.next++;
  }
}

function simulatedPattern(ctx: GatewayContext, r: ReaderConfig): SimulatedPattern {
  if (r.driver.type === 'simulated' && r.driver.pattern) return r.driver.pattern;
  const kind = ctx.config.access.accessPoints.find((a) => a.id === r.accessPoint)?.kind;
  if (kind === 'canteen') return 'canteen';
  if (kind === 'gate') return r.direction === 'out' ? 'gate-out' : 'gate-in';
  return 'door';
}

export function createReadersModule(ctx: GatewayContext, opts: ReadersModuleOptions): ReadersModule {
  const log = ctx.log.child({ component: 'readers' });
  const now = (): number => ctx.clock.now();
  const metrics = createMetrics(ctx);
  const rejectLog = new RateLimitedLog(log, now);
  const hub = new NetworkReaderHub(ctx.mqtt, (reason: RejectReason, readerId: string, detail: string) => {
    metrics.rejected.inc({ reason });
    // One line a minute per reader and reason, so one bad terminal does not hide another's first bad message; ids
    // that are not configured share one, as anyone may invent them.
    rejectLog.warn(reason === 'unknown_reader' ? reason : `${reason}:${readerId}`, { reason, readerId: readerId.slice(0, 80), detail }, 'reader message rejected');
  }, (readerId, upload) => ctx.bus.emit('offline.received', { readerId, receivedAt: now(), ...upload }));
  const random = opts.random ?? Math.random;
  const campus = new SimulatedCampus(opts.cardPool, random, now);
  const seq = new MetaSeqSource(ctx);
  const runtimes: ReaderRuntime[] = [];
  const emit = (tap: Tap): void => ctx.bus.emit('tap.received', tap);

  const build = async (rt: ReaderRuntime, rc522Taken: { id?: string }): Promise<TapSource> => {
    const r = rt.config;
    const d = r.driver;
    switch (d.type) {
      case 'serial': {
        try {
          const binding = opts.serialBinding ?? (await import('serialport')).SerialPort.binding;
          const { SerialReader } = await import('./serial-reader.js');
          return new SerialReader(r.id, d, binding, rt, now);
        } catch (err) {
          return new UnavailableReader(r.id, 'serial', `serialport could not be loaded: ${(err as Error).message}`, rt, now);
        }
      }
      case 'mqtt':
        return new MqttReader(r.id, rt, now, hub, d.numberFormat);
      case 'rc522': {
        // node-rfid drives one SPI device and keeps its timeout in a module-level variable: one reader per gateway.
        if (rc522Taken.id) return new UnavailableReader(r.id, 'rc522', `only one RC522 reader per gateway (${rc522Taken.id} has it)`, rt, now);
        rc522Taken.id = r.id;
        return new Rc522Reader(r.id, d, rt, now, opts.loadNodeRfid ?? loadNodeRfid, (outcome) => metrics.rc522.inc({ reader: r.id, outcome }));
      }
      case 'simulated':
        return new SimulatedReader(
          r.id,
          {
            pattern: simulatedPattern(ctx, r),
            dayCycleS: d.dayCycleS,
            peakTapsPerS: d.peakTapsPerS,
            campus,
            seq,
            random,
            epoch: now(),
            open: (at) => opts.openToStudents?.(r.accessPoint, at) ?? true,
          },
          rt,
          now,
        );
    }
  };

  const byId = (id: string): ReaderRuntime | undefined => runtimes.find((r) => r.config.id === id);

  return {
    name: 'readers',

    async start() {
      const rc522Taken: { id?: string } = {};
      for (const r of ctx.config.readers) {
        const rt = new ReaderRuntime(r, metrics, log, emit);
        rt.source = await build(rt, rc522Taken);
        runtimes.push(rt);
      }
      // Each reader on its own: one that fails to start is down, the others run.
      await Promise.all(
        runtimes.map(async (rt) => {
          try {
            await rt.source.start();
          } catch (err) {
            log.error({ err, reader: rt.config.id }, 'card reader failed to start');
          }
        }),
      );
      log.info({ readers: runtimes.length }, 'card readers started');
    },

    async stop() {
      await Promise.all(runtimes.map((rt) => rt.source.stop().catch((err: unknown) => log.error({ err, reader: rt.config.id }, 'card reader failed to stop'))));
    },

    routes(api: Router, guards: Guards) {
      const anyone = guards.role('admin', 'security', 'viewer');
      api.get('/readers', anyone, (_req, res) => {
        res.json({ readers: runtimes.map((rt) => rt.info()) });
      });
      api.get('/readers/:id', anyone, (req, res) => {
        const rt = byId(String(req.params.id));
        if (!rt) throw notFound(`reader ${String(req.params.id)}`);
        res.json(rt.info());
      });
    },

    health(): ComponentHealth {
      const down = runtimes.filter((rt) => rt.source.state().state === 'down');
      if (down.length === 0) return { ok: true, detail: `${runtimes.length} reader(s)`, code: 'readers_ok', params: { total: runtimes.length } };
      return {
        ok: false,
        detail: `${down.length} of ${runtimes.length} reader(s) down: ${down.map((rt) => `${rt.config.id} (${rt.source.state().detail ?? 'down'})`).join('; ')}`,
        // The reasons stay in the English detail (they come from drivers and OS errors); the console names the readers.
        code: 'readers_down',
        params: { down: down.length, total: runtimes.length, ids: down.map((rt) => rt.config.id).join(', ') },
      };
    },

    readers: () => runtimes.map((rt) => rt.info()),
    reader: (id: string) => byId(id)?.info(),
  };
}
