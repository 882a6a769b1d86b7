/**
 * The in-process event bus every domain publishes to. Each domain adds its events by augmenting
 * `CampusEventMap` (declaration merging), so the bus stays typed without the core knowing the domains:
 *
 *   declare module '../core/bus.js' { interface CampusEventMap { 'tap.decided': TapDecidedEvent } }
 *
 * Every event is mirrored to the embedded broker on `campus/events/<kind>` by the composition root.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface CampusEventMap {}

export type EventKind = keyof CampusEventMap & string;
type Handler<K extends EventKind> = (event: CampusEventMap[K]) => void;
type AnyHandler = (kind: EventKind, event: unknown) => void;

export class EventBus {
  private readonly handlers = new Map<string, Set<(event: unknown) => void>>();
  private readonly any = new Set<AnyHandler>();

  constructor(private readonly onHandlerError: (kind: string, err: unknown) => void = () => {}) {}

  on<K extends EventKind>(kind: K, handler: Handler<K>): () => void {
    let set = this.handlers.get(kind);
    if (!set) this.handlers.set(kind, (set = new Set()));
    const h = handler as (event: unknown) => void;
    set.add(h);
    return () => set.delete(h);
  }

  /** Every event of every kind (the broker mirror, the SSE stream, Node-RED). */
  onAny(handler: AnyHandler): () => void {
    this.any.add(handler);
    return () => this.any.delete(handler);
  }

  /** Handlers run synchronously; one that throws is reported and does not stop the others. */
  emit<K extends EventKind>(kind: K, event: CampusEventMap[K]): void {
    const set = this.handlers.get(kind);
    if (set) {
      for (const h of set) {
        try {
          h(event);
        } catch (err) {
          this.onHandlerError(kind, err);
        }
      }
    }
    for (const h of this.any) {
      try {
        h(kind, event);
      } catch (err) {
        this.onHandlerError(kind, err);
      }
    }
  }
}
