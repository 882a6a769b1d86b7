/**
 * A number that rises whenever what a door controller decides from changes: a card issued, deleted, changed or held
 * off the controllers, or its holder's role, schedule group or security flag. Kept by SQLite triggers in the same
 * transaction as the change, so it covers every writer: the API and roster imports in the gateway, and the CLI running
 * beside it (`erase-person`, `import-roster`), which cannot tell the gateway's bus. Door controllers poll it
 * (drivers/controllers/uhppote/sync-schedule.ts) and bring their card lists to the new plan.
 */
import type { Database, Migration } from '../storage/db.js';

const BUMP = 'UPDATE holders_version SET version = version + 1;';

export const holdersVersionMigrations: Migration[] = [
  {
    version: 15,
    name: 'card holders version',
    up: `
      CREATE TABLE holders_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
      INSERT INTO holders_version (id, version) VALUES (1, 0);
      CREATE TRIGGER cards_holders_insert AFTER INSERT ON cards BEGIN ${BUMP} END;
      CREATE TRIGGER cards_holders_delete AFTER DELETE ON cards BEGIN ${BUMP} END;
      CREATE TRIGGER cards_holders_update AFTER UPDATE ON cards
        WHEN OLD.uid IS NOT NEW.uid OR OLD.person_id IS NOT NEW.person_id OR OLD.status IS NOT NEW.status
          OR OLD.valid_from IS NOT NEW.valid_from OR OLD.valid_to IS NOT NEW.valid_to OR OLD.match IS NOT NEW.match
      BEGIN ${BUMP} END;
      -- A roster import rewrites every person it reads: only a change that moves a door's answer counts.
      CREATE TRIGGER persons_holders_update AFTER UPDATE ON persons
        WHEN OLD.role IS NOT NEW.role OR OLD.schedule_group IS NOT NEW.schedule_group OR OLD.security IS NOT NEW.security
      BEGIN ${BUMP} END;`,
  },
  {
    // A card whose low bytes an erased card shared stays off the door controllers until it is reissued: the erased
    // card is gone from the gateway, number and all, but not from the leaver's pocket (docs/controllers.md). The flag
    // sits on the surviving card, so nothing of the erased person is kept.
    version: 16,
    name: 'cards held off door controllers',
    up: `
      ALTER TABLE cards ADD COLUMN controllers_held TEXT;
      DROP TRIGGER cards_holders_update;
      CREATE TRIGGER cards_holders_update AFTER UPDATE ON cards
        WHEN OLD.uid IS NOT NEW.uid OR OLD.person_id IS NOT NEW.person_id OR OLD.status IS NOT NEW.status
          OR OLD.valid_from IS NOT NEW.valid_from OR OLD.valid_to IS NOT NEW.valid_to OR OLD.match IS NOT NEW.match
          OR OLD.controllers_held IS NOT NEW.controllers_held
      BEGIN ${BUMP} END;`,
  },
];

/** Reads the version: one row by its key, cheap enough to poll every few seconds. */
export function holdersVersionReader(db: Database): () => number {
  const stmt = db.prepare('SELECT version FROM holders_version WHERE id = 1');
  return () => (stmt.get() as { version: number }).version;
}
