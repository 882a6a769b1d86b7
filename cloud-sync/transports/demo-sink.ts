/**
 * The simulated city for demo mode (no upstream configured): it accepts every envelope the way a city broker
 * would, checks it against the contract, keeps the last N for GET /api/v1/sync/demo-sink, and can issue
 * commands to the school as the city would (POST /api/v1/sync/demo-sink/commands), signed with the demo-only key
 * (cloud-sync/demo-command-key.ts) that the gateway trusts for this sink's commands and nothing else.
 */
import { envelopeSchema } from '../contract.js';
import type { OutgoingMessage, SendOutcome, Transport, TransportEvents } from './types.js';

export interface SinkEntry {
  receivedAt: string;
  topic: string;
  /** Whether the envelope matched the published contract. */
  valid: boolean;
  problems?: string[];
  envelope: unknown;
}

export class DemoSinkTransport implements Transport {
  readonly kind = 'demo' as const;
  readonly target = 'demo city sink (in process)';
  readonly maxBatch = 100;
  readonly maxBatchBytes = 1024 * 1024;
  readonly window = 1000;
  readonly batchesInFlight = Number.POSITIVE_INFINITY;
  private readonly entries: SinkEntry[] = [];
  private events: TransportEvents | undefined;
  private stopped = false;
  receivedTotal = 0;

  constructor(
    private readonly size: number,
    private readonly topicFor: (stream: string) => string,
    private readonly now: () => number,
    private readonly sign: (command: Record<string, unknown>) => Record<string, unknown>,
  ) {}

  start(events: TransportEvents): void {
    this.events = events;
    events.onUp();
  }

  ready(): boolean {
    return !this.stopped;
  }

  connected(): boolean {
    return !this.stopped;
  }

  send(batch: OutgoingMessage[], done: (outcome: SendOutcome) => void): void {
    const receivedAt = new Date(this.now()).toISOString();
    for (const m of batch) {
      const envelope = JSON.parse(m.payload) as unknown;
      const check = envelopeSchema.safeParse(envelope);
      this.entries.push({
        receivedAt,
        topic: this.topicFor(m.stream),
        valid: check.success,
        ...(check.success ? {} : { problems: check.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }),
        envelope,
      });
      this.receivedTotal++;
    }
    if (this.entries.length > this.size) this.entries.splice(0, this.entries.length - this.size);
    // Confirm asynchronously, as a network would, so the sender's window logic is the same in demo mode.
    setImmediate(() => done({ ok: true }));
  }

  /** The newest first. */
  received(limit: number, stream?: string): SinkEntry[] {
    const out: SinkEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.entries[i]!;
      if (!stream || (e.envelope as { stream?: string }).stream === stream) out.push(e);
    }
    return out;
  }

  /** A command as the city would send it: signed. Returns what was sent. */
  issueCommand(command: Record<string, unknown>): Record<string, unknown> {
    const signed = this.sign(command);
    this.events?.onCommand(JSON.stringify(signed), 'demo');
    return signed;
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}
