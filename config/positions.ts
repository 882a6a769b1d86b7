/**
 * Where in the YAML file a field is: `check-config` prints `file:line:column` beside each problem's field path, so a
 * school's IT person goes straight to the line. Positions come from the `yaml` library's own parse of the file.
 */
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

/** `readers[2].driver.baudRate` back into its keys. */
export function parsePath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) out.push(part.startsWith('[') ? Number(part.slice(1, -1)) : part);
  return out;
}

export interface Position {
  line: number;
  col: number;
}

/**
 * The position of the deepest node of `path` that the file has: the field itself, or (for a missing field or one the
 * file does not set) the nearest mapping that holds it. Null when not even the first key is in the file.
 */
export function positionOf(text: string, path: readonly (string | number)[], opts: { atKey?: boolean } = {}): Position | null {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  let node: unknown = doc.contents;
  let found: Node | null = null;
  for (const [i, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) break;
      // A key whose value is null still has a place: its key; so has a key that should not be there.
      found = pair.value && !(opts.atKey && i === path.length - 1) ? (pair.value as Node) : (pair.key as Node);
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key] as Node | undefined;
      if (!item) break;
      found = item;
      node = item;
    } else break;
  }
  const offset = found?.range?.[0];
  if (offset === undefined) return null;
  const { line, col } = lineCounter.linePos(offset);
  return { line, col };
}

/** Prefixes `path: message` problem lines with `file:line:col:` where the file has the field. */
export function locateProblems(file: string, text: string, problems: readonly string[]): string[] {
  return problems.map((p) => {
    const m = /^([^:\s]+): /.exec(p);
    if (!m) return p;
    const path = m[1] === '(root)' ? [] : parsePath(m[1]!);
    // An unknown key is reported on its parent: point at the key itself.
    const unknown = /Unrecognized keys?: "([^"]+)"/.exec(p);
    if (unknown) path.push(unknown[1]!);
    const pos = positionOf(text, path, { atKey: unknown !== null });
    return pos ? `${file}:${pos.line}:${pos.col}: ${p}` : p;
  });
}
