/**
 * One alert as a check wants it, raised (with its fields) or resolved, written again at each check until the database
 * takes it. A full disk refuses the very alert that says so, and a caller that raises or resolves only on a change (a
 * disk's level, a controller's plan, the clock agreeing again) would not write it again: the console went without the
 * alert, or kept it open, for as long as nothing changed. Used by the disk guard, the clock guard and the door
 * controllers' left-out cards; here in core so that a driver may use it too.
 */

/** The alert service's two writes that report a refusal (a full disk) instead of throwing (gateway/alerts/alerts.ts). */
export interface RefusableAlertWrites<R> {
  /** The alert, or null when the database refused it. */
  tryRaise(input: R): unknown;
  /** False only when the database refused it (nothing open with the key is taken). */
  tryResolveByKey(dedupKey: string, by?: string, note?: string): boolean;
}

type Want<R> = { kind: 'raise'; input: R } | { kind: 'resolve'; note: string };

export class WantedAlert<R> {
  /** What the database refused last, written again at the next tick(); undefined once taken. */
  private owed: Want<R> | undefined;

  /** `key`: the alert's dedup key (its raise input's, or `type:source`), which resolve() closes. */
  constructor(
    private readonly alerts: RefusableAlertWrites<R>,
    readonly key: string,
  ) {}

  /** Raises it now; refused, raised again with these fields at each tick() until taken or resolve() is wanted instead. */
  raise(input: R): boolean {
    return this.write({ kind: 'raise', input });
  }

  /** Resolves it now (by the gateway); refused, again at each tick() until taken or raise() is wanted instead. */
  resolve(note: string): boolean {
    return this.write({ kind: 'resolve', note });
  }

  /** At each check: writes what the database refused last. True when nothing is owed any more. */
  tick(): boolean {
    return this.owed ? this.write(this.owed) : true;
  }

  private write(want: Want<R>): boolean {
    const taken = want.kind === 'raise' ? this.alerts.tryRaise(want.input) !== null : this.alerts.tryResolveByKey(this.key, 'gateway', want.note);
    this.owed = taken ? undefined : want;
    return taken;
  }
}
