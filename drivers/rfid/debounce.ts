/**
 * A card held on a reader counts once per window: readers like the RDM6300 repeat the frame for as long as the
 * card is in the field, and people tap twice to be sure. The window starts at the tap that was let through, so
 * a card left on the reader counts again once per window, not never again.
 *
 * Taps that carry a terminal transaction number (`seq`) are never debounced: a POS retry must reach the wallet,
 * which is idempotent on (reader, seq).
 */
const PRUNE_FROM = 256;

export class Debouncer {
  private readonly last = new Map<string, number>();
  /** Walk the map again only once it has doubled since the last walk: with thousands of cards inside one window
   * (a rush, or a reader gone wrong) a walk on every tap made each tap cost the whole map. */
  private pruneAbove = PRUNE_FROM;

  constructor(private readonly windowMs: number) {}

  /** True when the tap counts; false when it repeats a tap inside the window. */
  accept(uid: string, at: number, seq?: number): boolean {
    if (seq !== undefined || this.windowMs <= 0) return true;
    const prev = this.last.get(uid);
    if (prev !== undefined && at - prev >= 0 && at - prev < this.windowMs) return false;
    this.last.set(uid, at);
    if (this.last.size > this.pruneAbove) {
      this.prune(at);
      this.pruneAbove = Math.max(PRUNE_FROM, 2 * this.last.size);
    }
    return true;
  }

  /** Forgets windows that have closed, so the map holds only cards seen in the last window. */
  private prune(now: number): void {
    for (const [uid, t] of this.last) if (now - t >= this.windowMs) this.last.delete(uid);
  }
}
