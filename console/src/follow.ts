/**
 * A page's own live stream of bus events (the shell's one, live.ts, carries alerts and lockdown only): opened for the
 * page and closed with it (its signal). Each event's data is read as a JSON object; anything else is dropped, as a
 * page cannot show it. The browser reconnects a dropped stream by itself; what happened in the gap was missed, so a
 * page that lists events is told when the stream dropped and when it is back, to read its list again.
 */
import { openEvents } from './api.js';
import { isObj, type Json } from './data.js';

export interface Follow {
  /** By event kind (`tap.decided`): what to do with each event's data. */
  on: Record<string, (data: Json) => void>;
  /** The stream dropped (once per drop): what the page shows is as of now. */
  dropped?: () => void;
  /** The stream is back after a drop: events in the gap were missed. */
  back?: () => void;
}

export function followEvents(kinds: string[], signal: AbortSignal, follow: Follow): void {
  const es = openEvents(kinds);
  signal.addEventListener('abort', () => es.close(), { once: true });
  let down = false;
  es.addEventListener('error', () => {
    if (!down) follow.dropped?.();
    down = true;
  });
  es.addEventListener('open', () => {
    if (!down) return;
    down = false;
    follow.back?.();
  });
  for (const [kind, handle] of Object.entries(follow.on)) {
    es.addEventListener(kind, (ev) => {
      let data: unknown;
      try {
        data = JSON.parse((ev as MessageEvent<string>).data);
      } catch {
        return;
      }
      if (isObj(data)) handle(data);
    });
  }
}
