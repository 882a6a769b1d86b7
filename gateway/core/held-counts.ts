/**
 * How many of something each key holds now (live streams per login, connections per address), for a cap per key.
 * A key back at 0 is forgotten, so the map is only as large as what is held.
 */
export class HeldCounts<K> {
  private readonly counts = new Map<K, number>();

  of(key: K): number {
    return this.counts.get(key) ?? 0;
  }

  add(key: K): void {
    this.counts.set(key, this.of(key) + 1);
  }

  release(key: K): void {
    const n = this.of(key) - 1;
    if (n > 0) this.counts.set(key, n);
    else this.counts.delete(key);
  }
}
