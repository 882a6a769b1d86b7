/**
 * Every kind of card reader (serial, network/MQTT, RC522, simulated) behind one interface. A reader only
 * turns what its hardware says into taps; debounce, counting, logging and the bus are the module's job
 * (drivers/rfid/module.ts), so they behave the same for every kind.
 */
import type { Tap } from '../../gateway/core/taps.js';

export type ReaderDriverType = 'serial' | 'mqtt' | 'rc522' | 'simulated';

/** `up`: taking cards; `down`: cannot (port gone, library missing), retrying where that makes sense. */
export type ReaderState = 'starting' | 'up' | 'down' | 'stopped';

export interface ReaderStatus {
  state: ReaderState;
  /** Why it is down, or what it is doing ("/dev/ttyUSB0 at 9600 baud"). */
  detail?: string;
  /** Epoch ms of the last state change. */
  since: number;
}

/** What a reader reports to; implemented by the module. */
export interface ReaderHooks {
  tap(tap: Tap): void;
  /** A frame or message from this reader thrown away, by reason. */
  drop(reason: string, count?: number): void;
  /** Called on every state change (not on repeats of the same state). */
  stateChanged(status: ReaderStatus): void;
}

export interface TapSource {
  readonly id: string;
  readonly type: ReaderDriverType;
  start(): Promise<void>;
  stop(): Promise<void>;
  state(): ReaderStatus;
}

/** Shared state bookkeeping: a change of state is reported once, a repeat (the 50th failed reopen) not at all. */
export abstract class ReaderBase implements TapSource {
  abstract readonly type: ReaderDriverType;
  private status: ReaderStatus;

  constructor(
    readonly id: string,
    protected readonly hooks: ReaderHooks,
    protected readonly now: () => number,
  ) {
    this.status = { state: 'starting', since: now() };
  }

  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;

  state(): ReaderStatus {
    return { ...this.status };
  }

  protected setState(state: ReaderState, detail?: string): void {
    if (state === this.status.state) {
      // Same state: keep the newest reason (shown by the API) without reporting it again.
      this.status.detail = detail;
      return;
    }
    this.status = { state, detail, since: this.now() };
    this.hooks.stateChanged(this.state());
  }
}
