/**
 * Reading a camera's SOAP reply in time linear in its size. A camera is a device on the school LAN, and so is
 * anything that answers at its address: its reply is untrusted input parsed on the event loop.
 *
 * The onvif library (0.8) strips namespace declarations with `/xmlns([^=]*?)=(".*?")/g` before xml2js parses the
 * reply. On a reply full of `xmlns` with no `=` after them the regex rescans to the end from every one: 100 KB
 * stalled the event loop 1.2 s, 200 KB 3.3 s, 400 KB 10 s (bench: docs/cameras.md). So this module replaces that
 * step: one pass that checks the reply's shape against limits no ONVIF reply comes near, and drops namespace
 * declarations as it goes; then xml2js parses what is left with the library's own options, so every library call
 * still gets the result shape it expects.
 */
import { createRequire } from 'node:module';

/** Far above any ONVIF reply (GetProfiles of a 16-channel NVR: ~2,000 elements and attributes; depth ~15). */
export const REPLY_SHAPE_LIMITS = {
  /** Elements plus attributes in the whole reply: what xml2js's time and memory grow with. */
  maxNodes: 20_000,
  maxDepth: 100,
  /** Attributes (namespace declarations included) on one element: cameras declare ~40 on the envelope. */
  maxAttributesPerElement: 256,
};

export type ReplyCheck = { ok: true; xml: string } | { ok: false; problem: string };

const isNameChar = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 58 || c === 95 || c === 45 || c === 46 || c > 127;
const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;

/**
 * One left-to-right pass (every index is visited a bounded number of times; searches go through indexOf from
 * where the last one ended): counts elements, attributes and depth, refuses DTDs (SOAP forbids them; they are how
 * entity bombs start), and returns the reply without its namespace declarations.
 */
export function checkReply(xml: string, limits = REPLY_SHAPE_LIMITS): ReplyCheck {
  const keep: string[] = [];
  let from = 0; // start of the part of `xml` not yet copied into `keep`
  let nodes = 0;
  let depth = 0;
  let i = 0;
  const n = xml.length;
  const bad = (problem: string): ReplyCheck => ({ ok: false, problem });
  for (;;) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) break;
    const next = xml.charCodeAt(lt + 1);
    if (next === 63 /* ? */) {
      const end = xml.indexOf('?>', lt + 2);
      if (end < 0) return bad('an unterminated processing instruction');
      i = end + 2;
      continue;
    }
    if (next === 33 /* ! */) {
      if (xml.startsWith('<!--', lt)) {
        const end = xml.indexOf('-->', lt + 4);
        if (end < 0) return bad('an unterminated comment');
        i = end + 3;
      } else if (xml.startsWith('<![CDATA[', lt)) {
        const end = xml.indexOf(']]>', lt + 9);
        if (end < 0) return bad('an unterminated CDATA section');
        i = end + 3;
      } else return bad('a DTD or declaration (SOAP replies have none)');
      continue;
    }
    if (next === 47 /* / */) {
      const end = xml.indexOf('>', lt + 2);
      if (end < 0) return bad('an unterminated end tag');
      depth--;
      i = end + 1;
      continue;
    }
    // A start tag: its name, then attributes until '>' or '/>'.
    let j = lt + 1;
    while (j < n && isNameChar(xml.charCodeAt(j))) j++;
    if (j === lt + 1) return bad(`a "<" that starts no tag at ${lt}`);
    if (++nodes > limits.maxNodes) return bad(`more than ${limits.maxNodes} elements and attributes`);
    let attributes = 0;
    for (;;) {
      const wsStart = j;
      while (j < n && isSpace(xml.charCodeAt(j))) j++;
      const c = xml.charCodeAt(j);
      if (c === 62 /* > */) {
        if (++depth > limits.maxDepth) return bad(`elements nested more than ${limits.maxDepth} deep`);
        j++;
        break;
      }
      if (c === 47 /* / */ && xml.charCodeAt(j + 1) === 62) {
        j += 2;
        break;
      }
      if (j === wsStart) return bad(`a malformed tag at ${lt}`);
      const nameStart = j;
      while (j < n && isNameChar(xml.charCodeAt(j))) j++;
      if (j === nameStart) return bad(`a malformed attribute at ${nameStart}`);
      const name = xml.slice(nameStart, j);
      while (j < n && isSpace(xml.charCodeAt(j))) j++;
      if (xml.charCodeAt(j) !== 61 /* = */) return bad(`an attribute without a value at ${nameStart}`);
      j++;
      while (j < n && isSpace(xml.charCodeAt(j))) j++;
      const quote = xml[j];
      if (quote !== '"' && quote !== "'") return bad(`an unquoted attribute value at ${j}`);
      const close = xml.indexOf(quote, j + 1);
      if (close < 0) return bad('an unterminated attribute value');
      j = close + 1;
      if (++attributes > limits.maxAttributesPerElement) {
        return bad(`more than ${limits.maxAttributesPerElement} attributes or namespace declarations on one element`);
      }
      if (++nodes > limits.maxNodes) return bad(`more than ${limits.maxNodes} elements and attributes`);
      if (name === 'xmlns' || name.startsWith('xmlns:')) {
        // Dropped, as the library does: prefixes are stripped from tag names, so declarations only get in the way.
        keep.push(xml.slice(from, wsStart));
        from = j;
      }
    }
    i = j;
  }
  keep.push(xml.slice(from));
  return { ok: true, xml: keep.join('') };
}

/** The parts of xml2js (0.6, the onvif library's copy) used here. */
interface Xml2jsParser {
  parseString(xml: string, cb: (err: Error | null, result: unknown) => void): void;
}
interface Xml2js {
  Parser: new (options: { tagNameProcessors: ((name: string) => string)[]; async: boolean; chunkSize: number }) => Xml2jsParser;
}

// The onvif library's own xml2js, so the result has exactly the shape the library's methods read.
const xml2js = createRequire(createRequire(import.meta.url).resolve('onvif'))('xml2js') as Xml2js;

/**
 * Characters sax parses before yielding to the event loop. Linear is not enough on its own: xml2js needs up to
 * ~250 ns a byte here, so a 2 MiB reply parsed in one go would hold the loop for half a second (more on a Pi).
 */
export const PARSE_CHUNK_CHARS = 16_384;

const prefixMatch = /(?!xmlns)^.*:/;

/** The library's tag-name processor: no prefix, and `GetProfilesResponse` → `getProfilesResponse` (not `URI`). */
function tagName(str: string): string {
  const name = str.replace(prefixMatch, '');
  const second = name.charAt(1);
  return second && second.toUpperCase() !== second ? name.charAt(0).toLowerCase() + name.slice(1) : name;
}

type Rec = Record<string, unknown>;
const first = (v: unknown): Rec | undefined => (Array.isArray(v) ? (v[0] as Rec | undefined) : undefined);

function soapBody(err: Error | null, result: unknown): { err: Error | null; body: unknown } {
  const envelope = (result as Rec | null)?.envelope as Rec | undefined;
  const body = envelope?.body;
  if (!Array.isArray(body)) return { err: err ?? new Error('Wrong ONVIF SOAP response'), body: null };
  const fault = first(first(body)?.fault);
  if (!err && fault) {
    const text: unknown = (first(fault.reason)?.text as unknown[] | undefined)?.[0];
    let reason = typeof text === 'string' ? text : String((text as Rec | undefined)?._ ?? '');
    if (!reason) reason = JSON.stringify(fault.code ?? '');
    let detail = '';
    const d = first(fault.detail)?.text;
    if (Array.isArray(d) && typeof d[0] === 'string') detail = d[0];
    return { err: new Error(`ONVIF SOAP Fault: ${reason}${detail}`), body };
  }
  return { err, body };
}

/**
 * What the library's `parseSOAPString` does, on a reply `checkReply` has passed: the SOAP body, or the error for
 * a fault (`ONVIF SOAP Fault: <reason>`) or for something that is no SOAP envelope. Parsed in chunks of
 * PARSE_CHUNK_CHARS with the event loop free in between; `done` is called once.
 */
export function parseSoapBody(xml: string, done: (err: Error | null, body: unknown) => void): void {
  let answered = false;
  const answer = (err: Error | null, result: unknown): void => {
    if (answered) return; // xml2js can call back twice (an error, then the end)
    answered = true;
    const out = soapBody(err, result);
    done(out.err, out.body);
  };
  try {
    new xml2js.Parser({ tagNameProcessors: [tagName], async: true, chunkSize: PARSE_CHUNK_CHARS }).parseString(xml, answer);
  } catch (err) {
    answer(err instanceof Error ? err : new Error(String(err)), null);
  }
}
