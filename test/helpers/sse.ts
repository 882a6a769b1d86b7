/** Reads a Server-Sent Events response frame by frame, the way the console's EventSource does. */
export interface SseEvent {
  event: string;
  data: string;
}

export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';

  constructor(res: Response) {
    this.reader = res.body!.getReader();
  }

  /** The next event whose name passes `accept` (comments and other events are skipped); null when the stream ends. */
  async next(accept: (e: SseEvent) => boolean = () => true): Promise<SseEvent | null> {
    for (;;) {
      let end: number;
      while ((end = this.buffer.indexOf('\n\n')) >= 0) {
        const frame = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const e: SseEvent = { event: 'message', data: '' };
        let isEvent = false;
        for (const line of frame.split('\n')) {
          if (line.startsWith('event: ')) {
            e.event = line.slice(7);
            isEvent = true;
          } else if (line.startsWith('data: ')) {
            e.data += line.slice(6);
            isEvent = true;
          }
        }
        if (isEvent && accept(e)) return e;
      }
      const { value, done } = await this.reader.read();
      if (done) return null;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}
