/**
 * Which topic filters anyone holds now (connected clients and in-process handlers), as a trie of topic levels with
 * a count per filter, so "does anyone subscribe to this topic?" walks a topic's few levels instead of every
 * client's every filter. A subscribe changes one path; the small per-topic cache in front of it is cleared only
 * when a filter appears or disappears altogether (not when a second holder adds one already held).
 */

interface TrieNode {
  /** Holders of the filter that ends here. */
  count: number;
  children: Map<string, TrieNode>;
}

const node = (): TrieNode => ({ count: 0, children: new Map() });

const CACHE_MAX = 256;

export class FilterIndex {
  private readonly root = node();
  private readonly cache = new Map<string, boolean>();
  private readonly byHolder = new WeakMap<object, Set<string>>();

  /** One more holder of `filter`. */
  add(filter: string): void {
    let n = this.root;
    for (const level of filter.split('/')) {
      let next = n.children.get(level);
      if (!next) n.children.set(level, (next = node()));
      n = next;
    }
    if (n.count++ === 0) this.cache.clear();
  }

  /** One holder fewer of `filter`. */
  remove(filter: string): void {
    const levels = filter.split('/');
    const path: TrieNode[] = [this.root];
    for (const level of levels) {
      const next = path[path.length - 1]!.children.get(level);
      if (!next) return;
      path.push(next);
    }
    const end = path[path.length - 1]!;
    if (end.count === 0) return;
    if (--end.count > 0) return;
    this.cache.clear();
    // Prune the branch that no longer leads to any filter.
    for (let i = levels.length; i > 0; i--) {
      const n = path[i]!;
      if (n.count > 0 || n.children.size > 0) break;
      path[i - 1]!.children.delete(levels[i - 1]!);
    }
  }

  /** `holder` (a client) holds these filters; a filter it holds already is not counted twice. */
  addFor(holder: object, filters: Iterable<string>): void {
    let held = this.byHolder.get(holder);
    if (!held) this.byHolder.set(holder, (held = new Set()));
    for (const f of filters) {
      if (held.has(f)) continue;
      held.add(f);
      this.add(f);
    }
  }

  removeFor(holder: object, filters: Iterable<string>): void {
    const held = this.byHolder.get(holder);
    if (!held) return;
    for (const f of filters) if (held.delete(f)) this.remove(f);
  }

  removeAllFor(holder: object): void {
    const held = this.byHolder.get(holder);
    if (!held) return;
    for (const f of held) this.remove(f);
    this.byHolder.delete(holder);
  }

  /** Whether any filter held now matches `topic` (`+` one level, `#` the rest, including none). */
  matches(topic: string): boolean {
    let yes = this.cache.get(topic);
    if (yes === undefined) {
      yes = matchFrom(this.root, topic.split('/'), 0);
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(topic, yes);
    }
    return yes;
  }
}

function matchFrom(n: TrieNode, levels: readonly string[], i: number): boolean {
  const hash = n.children.get('#');
  if (hash && hash.count > 0) return true;
  if (i === levels.length) return n.count > 0;
  const exact = n.children.get(levels[i]!);
  if (exact && matchFrom(exact, levels, i + 1)) return true;
  const plus = n.children.get('+');
  return plus !== undefined && matchFrom(plus, levels, i + 1);
}
