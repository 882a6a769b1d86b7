/**
 * A card held on a reader counts once per window: readers like the RDM6300 repeat the frame for as long as the
 * card is in the field, and people tap twice to be sure. The window starts at the tap that was let through, so
 * a card left on the reader counts again once per window, not never again.
 *
 * Taps that carry a terminal transaction number (`seq`) are never debounced: a POS retry must reach the wallet,
 * which is idempotent on (reader, seq).
 */
export class Debouncer {
  private readonly last = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  /** True when the tap counts; false when it repeats a tap inside the window. */
  accept(uid: string, at: number, seq?: number): boolean {
    if (seq !== undefined || this.windowMs <= 0) return true;
    const prev = this.last.get(uid);
    if (prev !== undefined && at - prev >= 0 && at - prev < this.windowMs) return false;
    this.last.set(uid, at);
    if (this.last.size > 256) this.prune(at);
    return true;
  }

  /** Forgets windows that have closed, so the map holds only cards seen in the last window. */
  private prune(now: number): void {
    for (const [uid, t] of this.last) if (now - t >= this.windowMs) this.last.delete(uid);
  }
}
