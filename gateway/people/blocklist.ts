/**
 * The lost-card blocklist (黑名单) for terminals that decide by themselves while they cannot reach the gateway:
 * every card reported lost or blocked, with a version that rises on every change, so a terminal asks for what
 * changed since the version it holds instead of the whole list.
 *
 * The change log is written by SQLite triggers on `cards` (migration 13), in the same transaction as the status
 * change itself: every path that changes a card (the API, a roster import, a city command, the CLI from another
 * process) is covered, and a version never names a change that did not commit.
 */
import type { CardStatus } from './types.js';
import type { Database, Migration } from '../storage/db.js';
import { topics } from '../core/topics.js';

const LISTED = `('lost','blocked')`;

export const blocklistMigrations: Migration[] = [
  {
    version: 13,
    name: 'card blocklist versions',
    up: `
      CREATE TABLE card_blocklist_changes (
        version INTEGER PRIMARY KEY AUTOINCREMENT,
        uid TEXT NOT NULL,
        match TEXT NOT NULL,
        listed INTEGER NOT NULL CHECK (listed IN (0, 1)),
        status TEXT NOT NULL,
        -- When, by the gateway's clock: the card's updated_at, which every status change sets (ISO, UTC).
        at TEXT NOT NULL
      );
      CREATE INDEX card_blocklist_changes_uid ON card_blocklist_changes (uid, at);
      INSERT INTO card_blocklist_changes (uid, match, listed, status, at)
        SELECT uid, match, 1, status, updated_at FROM cards WHERE status IN ${LISTED} ORDER BY uid;
      CREATE TRIGGER cards_blocklist_insert AFTER INSERT ON cards WHEN NEW.status IN ${LISTED}
      BEGIN
        INSERT INTO card_blocklist_changes (uid, match, listed, status, at) VALUES (NEW.uid, NEW.match, 1, NEW.status, NEW.updated_at);
      END;
      CREATE TRIGGER cards_blocklist_update AFTER UPDATE OF uid, match, status ON cards
        WHEN OLD.status IN ${LISTED} OR NEW.status IN ${LISTED}
      BEGIN
        -- Off the list: no longer lost or blocked, or listed under another UID (a partial card completed).
        INSERT INTO card_blocklist_changes (uid, match, listed, status, at)
          SELECT OLD.uid, OLD.match, 0, NEW.status, NEW.updated_at
          WHERE OLD.status IN ${LISTED} AND (NEW.status NOT IN ${LISTED} OR NEW.uid != OLD.uid OR NEW.match != OLD.match);
        -- On the list, or listed again with another status (lost → blocked).
        INSERT INTO card_blocklist_changes (uid, match, listed, status, at)
          SELECT NEW.uid, NEW.match, 1, NEW.status, NEW.updated_at
          WHERE NEW.status IN ${LISTED}
            AND (OLD.status != NEW.status OR NEW.uid != OLD.uid OR NEW.match != OLD.match);
      END;
      CREATE TRIGGER cards_blocklist_delete AFTER DELETE ON cards WHEN OLD.status IN ${LISTED}
      BEGIN
        INSERT INTO card_blocklist_changes (uid, match, listed, status, at)
          VALUES (OLD.uid, OLD.match, 0, 'deleted', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
      END;`,
  },
];

/** One listed card. `match: "suffix"` is a card known only by a printed number: it stands for every UID ending so. */
export interface BlocklistEntry {
  uid: string;
  match: 'exact' | 'suffix';
  status: Extract<CardStatus, 'lost' | 'blocked'>;
}

export type Blocklist =
  | { version: number; full: true; entries: BlocklistEntry[] }
  | { version: number; full: false; since: number; added: BlocklistEntry[]; removed: { uid: string; match: 'exact' | 'suffix' }[] };

export class CardBlocklist {
  private readonly versionStmt;
  private readonly entriesStmt;
  private readonly changesStmt;
  private readonly statusAtStmt;

  constructor(private readonly db: Database) {
    this.versionStmt = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM card_blocklist_changes');
    this.entriesStmt = db.prepare(`SELECT uid, match, status FROM cards WHERE status IN ${LISTED} ORDER BY uid`);
    this.statusAtStmt = db.prepare('SELECT listed, status FROM card_blocklist_changes WHERE uid = ? AND at <= ? ORDER BY at DESC, version DESC LIMIT 1');
    // The last change of each card after a version: what a terminal holding that version must apply.
    this.changesStmt = db.prepare(
      `SELECT c.uid, c.match, c.listed, c.status FROM card_blocklist_changes c
       JOIN (SELECT uid, match, MAX(version) AS version FROM card_blocklist_changes WHERE version > ? GROUP BY uid, match) last
         ON last.version = c.version
       ORDER BY c.uid`,
    );
  }

  version(): number {
    return (this.versionStmt.get() as { v: number }).v;
  }

  /**
   * Whether the card was on the list at a moment (epoch ms), and as what: for sales a terminal made offline, which
   * must be held when the card was reported lost at the time even if it was found before the upload.
   */
  statusAt(uid: string, at: number): BlocklistEntry['status'] | null {
    const row = this.statusAtStmt.get(uid, new Date(at).toISOString()) as { listed: 0 | 1; status: string } | undefined;
    return row?.listed === 1 ? (row.status as BlocklistEntry['status']) : null;
  }

  /**
   * The whole list, or what changed after `since`. A version the gateway never gave out (ahead of the current one,
   * as after a restore from backup) gets the whole list, so the terminal starts over rather than trusting its copy.
   */
  read(since?: number): Blocklist {
    return this.db.transaction((): Blocklist => {
      const version = this.version();
      if (since === undefined || since > version) return { version, full: true, entries: this.entriesStmt.all() as BlocklistEntry[] };
      const rows = this.changesStmt.all(since) as { uid: string; match: 'exact' | 'suffix'; listed: 0 | 1; status: string }[];
      return {
        version,
        full: false,
        since,
        added: rows.filter((r) => r.listed === 1).map((r) => ({ uid: r.uid, match: r.match, status: r.status as BlocklistEntry['status'] })),
        removed: rows.filter((r) => r.listed === 0).map((r) => ({ uid: r.uid, match: r.match })),
      };
    })();
  }
}

/** Where terminals find the list: retained, so one that connects gets the current list at once. */
export const BLOCKLIST_TOPIC = topics.cardBlocklist;

/**
 * Keeps the retained list on the broker current: after card changes in this process (coalesced, so a roster
 * import publishes once) and, for changes from another process such as the CLI, on a slow poll of the version.
 */
export class BlocklistPublisher {
  private published = -1;
  private timer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private off: (() => void) | undefined;

  constructor(
    private readonly list: CardBlocklist,
    private readonly deps: {
      publish: (payload: object) => Promise<void>;
      onCardChanged: (fn: () => void) => () => void;
      log: { warn(obj: object, msg: string): void };
    },
    private readonly delays = { coalesceMs: 200, pollMs: 30_000 },
  ) {}

  start(): void {
    this.off = this.deps.onCardChanged(() => this.schedule());
    this.poll = setInterval(() => this.flush(), this.delays.pollMs);
    this.poll.unref();
    this.flush();
  }

  stop(): void {
    this.off?.();
    clearTimeout(this.timer);
    clearInterval(this.poll);
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.delays.coalesceMs);
    this.timer.unref();
  }

  private flush(): void {
    try {
      if (this.list.version() === this.published) return;
      const list = this.list.read();
      this.published = list.version;
      this.deps.publish(list).catch((err: unknown) => {
        this.published = -1; // try again at the next change or poll
        this.deps.log.warn({ err }, 'blocklist not published');
      });
    } catch (err) {
      this.deps.log.warn({ err }, 'blocklist not read');
    }
  }
}
