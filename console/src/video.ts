/**
 * Live video through Media Source Extensions: GET /api/v1/cameras/:id/live is one long fragmented-MP4 response
 * (fetch, so the bearer token goes in a header); top-level boxes are cut out of it and appended to one SourceBuffer
 * in `sequence` mode, so a new init segment after the gateway restarted its camera pull plays on. When the response
 * ends, it reconnects by itself. Without MSE support for the codec (H.265 in most browsers), `onFallback` is called
 * and the page keeps its snapshot.
 */
import { apiUrl } from './api.js';
import { loadSession } from './session.js';

export type LiveFallback = 'no_video' | 'codec' | 'unsupported' | 'forbidden';

const hex = (n: number): string => n.toString(16).padStart(2, '0');

/** The MSE codec string of an init segment: `avc1.PPCCLL` from its avcC box, or the sample entry (hvc1, …). */
export function codecOf(init: Uint8Array): string | null {
  const text = new TextDecoder('latin1').decode(init);
  const avcc = text.indexOf('avcC');
  if (avcc >= 0 && avcc + 8 <= init.length) return `avc1.${hex(init[avcc + 5]!)}${hex(init[avcc + 6]!)}${hex(init[avcc + 7]!)}`;
  if (text.includes('hvc1') || text.includes('hev1')) return 'hvc1.1.6.L93.B0';
  return null;
}

/** Splits a byte stream into whole top-level MP4 boxes. */
class Boxes {
  private buf: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  push(chunk: Uint8Array): { type: string; data: Uint8Array<ArrayBuffer> }[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    const view = new DataView(joined.buffer);
    const out: { type: string; data: Uint8Array<ArrayBuffer> }[] = [];
    let off = 0;
    while (off + 8 <= joined.length) {
      const size = view.getUint32(off);
      if (size < 8 || off + size > joined.length) break;
      out.push({ type: String.fromCharCode(...joined.subarray(off + 4, off + 8)), data: joined.subarray(off, off + size) });
      off += size;
    }
    this.buf = joined.slice(off);
    return out;
  }
}

export interface LivePlayer {
  video: HTMLVideoElement;
}

/**
 * Plays a camera's stream into a new <video> until `signal` aborts. Keeps the delay low: when playback falls
 * more than 1.5 s behind what has arrived, it jumps forward; it keeps only the last 20 s in the buffer.
 */
export function livePlayer(cameraId: string, stream: 'main' | 'sub', signal: AbortSignal, onFallback: (why: LiveFallback) => void): LivePlayer {
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.className = 'live-video';
  video.dataset.test = 'live-video';
  // Hidden until frames come, so the snapshot beneath shows instead of a black box.
  video.addEventListener('playing', () => video.classList.add('playing'));
  if (typeof MediaSource === 'undefined') {
    onFallback('unsupported');
    return { video };
  }
  let attempt = 0;
  /** Plays one response; 'stop' when retrying cannot help (refused, codec). */
  const connect = async (): Promise<'stop' | 'retry'> => {
    const ms = new MediaSource();
    const url = URL.createObjectURL(ms);
    video.src = url;
    await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
    const headers = new Headers();
    const token = loadSession()?.token;
    if (token) headers.set('authorization', `Bearer ${token}`);
    const ctl = new AbortController();
    const stop = (): void => ctl.abort();
    signal.addEventListener('abort', stop, { once: true });
    let sb: SourceBuffer | null = null;
    const queue: Uint8Array<ArrayBuffer>[] = [];
    const pump = (): void => {
      if (!sb || sb.updating || !queue.length || ms.readyState !== 'open') return;
      // Bounded memory: what is long past goes.
      const b = sb.buffered;
      if (b.length && video.currentTime - b.start(0) > 30) {
        sb.remove(b.start(0), video.currentTime - 20);
        return;
      }
      sb.appendBuffer(queue.shift()!);
    };
    try {
      const res = await fetch(apiUrl(`/cameras/${encodeURIComponent(cameraId)}/live`, { stream }), { headers, signal: ctl.signal });
      if (res.status === 403) {
        onFallback('forbidden');
        return 'stop';
      }
      if (!res.ok || !res.body) {
        onFallback('no_video');
        throw new Error(`live: ${res.status}`);
      }
      attempt = 0;
      const reader = res.body.getReader();
      const boxes = new Boxes();
      let init: Uint8Array[] = [];
      let moof: Uint8Array<ArrayBuffer> | null = null;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const box of boxes.push(value)) {
          if (box.type === 'ftyp') init = [box.data];
          else if (box.type === 'moov') {
            const whole = new Uint8Array([...init.flatMap((x) => [...x]), ...box.data]);
            if (!sb) {
              const codec = codecOf(whole);
              const mime = `video/mp4; codecs="${codec ?? 'avc1.42E01E'}"`;
              if (!MediaSource.isTypeSupported(mime)) {
                onFallback('codec');
                ctl.abort();
                return 'stop';
              }
              sb = ms.addSourceBuffer(mime);
              sb.mode = 'sequence';
              sb.addEventListener('updateend', pump);
            }
            queue.push(whole);
          } else if (box.type === 'moof') {
            moof = box.data;
          } else if (box.type === 'mdat' && moof) {
            // One media segment per append: moof and its mdat together.
            const seg = new Uint8Array(moof.length + box.data.length);
            seg.set(moof);
            seg.set(box.data, moof.length);
            queue.push(seg);
            moof = null;
          }
        }
        pump();
        const b = sb?.buffered;
        if (b && b.length) {
          const end = b.end(b.length - 1);
          if (video.currentTime < b.start(0) || end - video.currentTime > 1.5) video.currentTime = Math.max(b.start(0), end - 0.3);
          if (video.paused) void video.play().catch(() => {});
        }
      }
      return 'retry';
    } finally {
      signal.removeEventListener('abort', stop);
      URL.revokeObjectURL(url);
    }
  };
  const loop = async (): Promise<void> => {
    while (!signal.aborted) {
      try {
        if ((await connect()) === 'stop') return;
      } catch {
        // reconnect below
      }
      if (signal.aborted) return;
      attempt++;
      await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * attempt)));
    }
  };
  void loop();
  return { video };
}
