/**
 * Consoles' live event streams (`GET /api/v1/events/stream`) in their own process, read as a browser reads them: every
 * chunk taken as it comes, tap events counted. In a school the consoles are other machines; read in the process that
 * times the taps, 20 streams' decoding (~25 MB/s at 1,000 taps/s) delayed the readers' decisions it was measuring.
 *
 * IPC: `{ id, cmd: 'open', base, tokens }` → `{ id, open }` (one stream per token, each its own session);
 * `{ id, cmd: 'counts' }` → `{ id, taps }` (tap events each stream has read so far). SIGTERM closes them and exits.
 */

interface Stream {
  taps: number;
  abort: AbortController;
  done: Promise<void>;
}

const streams: Stream[] = [];

async function openStream(base: string, token: string): Promise<Stream> {
  const abort = new AbortController();
  const res = await fetch(`${base}/api/v1/events/stream`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`event stream: ${res.status} ${await res.text()}`);
  const s: Stream = { taps: 0, abort, done: Promise.resolve() };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  // Counted over chunk boundaries: the end of the last chunk, too short to hold the mark, goes before the next.
  const mark = '\nevent: tap.';
  let carry = '';
  s.done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const text = carry + decoder.decode(value, { stream: true });
        s.taps += text.split(mark).length - 1;
        carry = text.slice(-(mark.length - 1));
      }
    } catch {
      // aborted at the end of the run
    }
  })();
  return s;
}

async function close(): Promise<void> {
  for (const s of streams) s.abort.abort();
  await Promise.all(streams.splice(0).map((s) => s.done));
}

type Command = { id: number; cmd: 'open'; base: string; tokens: string[] } | { id: number; cmd: 'counts' };

process.on('message', (m: Command) => {
  const reply = (r: Record<string, unknown>): void => void process.send?.({ id: m.id, ...r });
  const run = async (): Promise<void> => {
    if (m.cmd === 'open') {
      for (const token of m.tokens) streams.push(await openStream(m.base, token));
      reply({ open: streams.length });
    } else if (m.cmd === 'counts') reply({ taps: streams.map((s) => s.taps) });
    else reply({ error: `unknown command ${(m as { cmd: string }).cmd}` });
  };
  run().catch((err: unknown) => reply({ error: String(err) }));
});
const stop = (): void => void close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('disconnect', stop);
