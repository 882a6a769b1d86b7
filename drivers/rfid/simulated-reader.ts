/**
 * Simulated readers for demo mode: a school day compressed into a few minutes, over and over. Gates see the
 * morning rush in and the afternoon rush out; the canteen sees breakfast, a large lunch and supper, with an
 * amount in fen and a rising transaction number on every tap. Cards come from `cardPool`, which the
 * composition root supplies (the active cards in the database), and the readers of one gateway share who is
 * on campus, so a student leaves only after arriving and buys lunch while in school.
 */
import { ReaderBase, type ReaderHooks } from './types.js';

export type SimulatedPattern = 'gate-in' | 'gate-out' | 'canteen' | 'door';

/** Demo day: 06:00–19:00 of school time are played in `dayCycleS` real seconds. */
const DAY_START_H = 6;
const DAY_END_H = 19;
/** Where a cycle starts: just before the morning rush, so a fresh demo shows traffic at once. */
const CYCLE_OFFSET_H = 6.75;
/**
 * At a closed access point (the gates at night: the demo day is compressed, the timetable is real) one tap per
 * this gap at most: an `outside_schedule` refusal now and then, not a standing `repeated_denials` alert.
 */
const CLOSED_GAP_MS = 30_000;
/** What the canteen sells, in fen. */
const PRICES = [300, 450, 600, 800, 1000, 1250, 1500];

interface Bump {
  at: number; // school hour of the peak
  width: number; // hours (standard deviation)
  weight: number; // share of the peak rate
}

/** Tap intensity through the day, as a share of the peak rate: the demo's "story". */
const PATTERNS: Record<SimulatedPattern, { bumps: Bump[]; base: number }> = {
  'gate-in': { bumps: [{ at: 7.45, width: 0.3, weight: 1 }, { at: 13.9, width: 0.2, weight: 0.15 }], base: 0.02 },
  'gate-out': { bumps: [{ at: 12.0, width: 0.15, weight: 0.15 }, { at: 17.2, width: 0.35, weight: 1 }], base: 0.02 },
  canteen: {
    bumps: [
      { at: 7.2, width: 0.25, weight: 0.35 },
      { at: 12.1, width: 0.35, weight: 1 },
      { at: 17.8, width: 0.3, weight: 0.5 },
    ],
    base: 0.01,
  },
  door: { bumps: [{ at: 8.0, width: 0.2, weight: 0.4 }, { at: 10.0, width: 0.2, weight: 0.4 }, { at: 14.5, width: 0.2, weight: 0.4 }], base: 0.03 },
};

/** Share of the peak rate at a school hour. */
export function intensity(pattern: SimulatedPattern, hour: number): number {
  const p = PATTERNS[pattern];
  let v = p.base;
  for (const b of p.bumps) v += b.weight * Math.exp(-0.5 * ((hour - b.at) / b.width) ** 2);
  return Math.min(1, v);
}

/** Who is on campus, shared by the simulated readers of one gateway. */
export class SimulatedCampus {
  private readonly present = new Set<string>();
  private pool: readonly string[] = [];
  private poolAt = -Infinity;

  constructor(
    private readonly cardPool: () => readonly string[],
    private readonly random: () => number,
    private readonly now: () => number,
    /** Re-read the pool this often: it is a database query. */
    private readonly poolRefreshMs = 30_000,
  ) {}

  cards(): readonly string[] {
    if (this.now() - this.poolAt >= this.poolRefreshMs) {
      try {
        this.pool = this.cardPool();
      } catch {
        this.pool = [];
      }
      this.poolAt = this.now();
    }
    return this.pool;
  }

  /** A card to use for the pattern; undefined when there are no cards, null when nobody fits (no one to leave). */
  pick(pattern: SimulatedPattern): string | null | undefined {
    const pool = this.cards();
    if (pool.length === 0) return undefined;
    const any = (): string => pool[Math.floor(this.random() * pool.length)]!;
    const inside = (): string | undefined => {
      if (this.present.size === 0) return undefined;
      let n = Math.floor(this.random() * this.present.size);
      for (const c of this.present) if (n-- === 0) return c;
      return undefined;
    };
    switch (pattern) {
      case 'gate-in': {
        // A few tries to find someone not yet in; a full school just sees someone come back in.
        for (let i = 0; i < 5; i++) {
          const c = any();
          if (!this.present.has(c)) {
            this.present.add(c);
            return c;
          }
        }
        return any();
      }
      case 'gate-out': {
        // Only someone inside can leave; with nobody in, the out gate is quiet.
        const c = inside();
        if (c === undefined) return null;
        this.present.delete(c);
        return c;
      }
      default:
        return inside() ?? any();
    }
  }

  /** A new day: everyone went home. */
  reset(): void {
    this.present.clear();
  }
}

/** Hands out transaction numbers that stay unique across restarts (the wallet is idempotent on them). */
export interface SeqSource {
  next(readerId: string): number;
}

export interface SimulatedOptions {
  pattern: SimulatedPattern;
  dayCycleS: number;
  peakTapsPerS: number;
  campus: SimulatedCampus;
  seq: SeqSource;
  random: () => number;
  /** When the cycles are counted from (real ms); tests pin it. */
  epoch: number;
  /** Whether the access point lets students through at a real time; when not, a tap only every CLOSED_GAP_MS. */
  open: (at: number) => boolean;
}

export class SimulatedReader extends ReaderBase {
  readonly type = 'simulated' as const;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private lastCycle = -1;
  private lastClosedTapAt = -Infinity;

  constructor(
    id: string,
    private readonly opts: SimulatedOptions,
    hooks: ReaderHooks,
    now: () => number,
  ) {
    super(id, hooks, now);
  }

  async start(): Promise<void> {
    this.running = true;
    this.setState('up', `simulating ${this.opts.pattern}, a school day every ${this.opts.dayCycleS} s`);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.setState('stopped');
  }

  /** The school hour the demo is at. */
  schoolHour(t = this.now()): number {
    const cycleMs = this.opts.dayCycleS * 1000;
    const span = DAY_END_H - DAY_START_H;
    const offset = ((CYCLE_OFFSET_H - DAY_START_H) / span) * cycleMs;
    const pos = (((t - this.opts.epoch + offset) % cycleMs) + cycleMs) % cycleMs;
    return DAY_START_H + (pos / cycleMs) * span;
  }

  /**
   * A Poisson process at the peak rate, each event kept with the probability the hour's intensity gives
   * (thinning): a varying rate with one timer and no bookkeeping.
   */
  private schedule(): void {
    if (!this.running) return;
    const rate = this.opts.peakTapsPerS;
    const delayMs = Math.min(10_000, Math.max(20, (-Math.log(1 - this.opts.random()) / rate) * 1000));
    this.timer = setTimeout(() => {
      try {
        this.tick();
      } finally {
        this.schedule();
      }
    }, delayMs);
    this.timer.unref?.();
  }

  private tick(): void {
    const t = this.now();
    const cycle = Math.floor((t - this.opts.epoch) / (this.opts.dayCycleS * 1000));
    if (cycle !== this.lastCycle) {
      if (this.lastCycle >= 0 && this.opts.pattern === 'gate-in') this.opts.campus.reset();
      this.lastCycle = cycle;
    }
    if (this.opts.random() >= intensity(this.opts.pattern, this.schoolHour(t))) return;
    if (!this.opts.open(t)) {
      if (t - this.lastClosedTapAt < CLOSED_GAP_MS) return;
      this.lastClosedTapAt = t;
    }
    const uid = this.opts.campus.pick(this.opts.pattern);
    if (uid === undefined) {
      this.setState('up', 'no active cards to simulate with');
      return;
    }
    if (uid === null) return;
    if (this.opts.pattern === 'canteen') {
      const amount = PRICES[Math.floor(this.opts.random() * PRICES.length)]!;
      this.hooks.tap({ readerId: this.id, uid, at: t, amount, seq: this.opts.seq.next(this.id) });
    } else {
      this.hooks.tap({ readerId: this.id, uid, at: t });
    }
  }
}
