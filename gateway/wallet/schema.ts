import type { Migration } from '../storage/db.js';

/**
 * The columns version 20 gave a terminal's transactions after person_id. Version 22 rebuilds the table (SQLite cannot
 * drop a NOT NULL in place) and must copy them unchanged; one text keeps the two alike. The SQL each shipped
 * migration runs is the same as before, to the character.
 */
const TERMINAL_TXN_COLUMNS = `amount_fen INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        entry_id INTEGER REFERENCES wallet_entries(id),
        balance_fen INTEGER NOT NULL,
        tap_id TEXT NOT NULL,
        local_date TEXT NOT NULL,
        created_at TEXT NOT NULL,
        duplicates INTEGER NOT NULL DEFAULT 0,
        conflicts INTEGER NOT NULL DEFAULT 0,
        last_duplicate_at TEXT,`;

/**
 * The wallet's tables (migrations 20, 22 and 23).
 *
 * `wallet_entries` is the ledger: the truth. A balance is the sum of a person's entries; `wallet_accounts`
 * caches it and is only ever changed in the same transaction as the entry that moves it.
 *
 * `wallet_terminal_txns` remembers the outcome of every (reader, seq) a terminal sent, applied or refused,
 * so a retry gets the same answer; its primary key is what makes a debit idempotent.
 */
export const walletMigrations: Migration[] = [
  {
    version: 20,
    name: 'wallet ledger',
    up: `
      CREATE TABLE wallet_entries (
        id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES persons(id),
        amount_fen INTEGER NOT NULL CHECK (typeof(amount_fen) = 'integer' AND amount_fen <> 0),
        kind TEXT NOT NULL CHECK (kind IN ('topup', 'debit', 'refund', 'correction')),
        reason TEXT,
        actor TEXT NOT NULL,
        reader_id TEXT,
        terminal_seq INTEGER,
        tap_id TEXT,
        refund_of INTEGER REFERENCES wallet_entries(id),
        local_date TEXT NOT NULL,
        occurred_at INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        CHECK (kind <> 'debit' OR (amount_fen < 0 AND reader_id IS NOT NULL AND terminal_seq IS NOT NULL)),
        CHECK (kind NOT IN ('topup', 'refund') OR amount_fen > 0),
        UNIQUE (reader_id, terminal_seq)
      );
      CREATE INDEX wallet_entries_person ON wallet_entries (person_id, id);
      CREATE INDEX wallet_entries_day ON wallet_entries (local_date, kind, person_id);
      CREATE INDEX wallet_entries_refund_of ON wallet_entries (refund_of) WHERE refund_of IS NOT NULL;

      CREATE TABLE wallet_accounts (
        person_id INTEGER PRIMARY KEY REFERENCES persons(id),
        balance_fen INTEGER NOT NULL CHECK (balance_fen >= 0),
        updated_at TEXT NOT NULL
      );

      CREATE TABLE wallet_terminal_txns (
        reader_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        person_id INTEGER NOT NULL,
        ${TERMINAL_TXN_COLUMNS}
        PRIMARY KEY (reader_id, seq)
      ) WITHOUT ROWID;
      CREATE INDEX wallet_terminal_txns_day ON wallet_terminal_txns (local_date, reader_id);`,
  },
  {
    // Sales a terminal made while it could not reach the gateway. One it would have refused online is kept as
    // `suspicious` for an admin to review: its card may be unknown, so person_id becomes nullable (a rebuild).
    version: 22,
    name: 'offline terminal sales and their review',
    up: `
      CREATE TABLE wallet_terminal_txns_new (
        reader_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        person_id INTEGER,
        ${TERMINAL_TXN_COLUMNS}
        offline INTEGER NOT NULL DEFAULT 0 CHECK (offline IN (0, 1)),
        uid TEXT,
        occurred_at INTEGER,
        suspicion TEXT,
        review TEXT CHECK (review IN ('pending', 'accepted', 'rejected')),
        reviewed_by TEXT,
        reviewed_at TEXT,
        review_note TEXT,
        CHECK (person_id IS NOT NULL OR outcome = 'suspicious'),
        PRIMARY KEY (reader_id, seq)
      ) WITHOUT ROWID;
      INSERT INTO wallet_terminal_txns_new (reader_id, seq, person_id, amount_fen, outcome, entry_id, balance_fen, tap_id,
          local_date, created_at, duplicates, conflicts, last_duplicate_at)
        SELECT reader_id, seq, person_id, amount_fen, outcome, entry_id, balance_fen, tap_id, local_date, created_at,
          duplicates, conflicts, last_duplicate_at FROM wallet_terminal_txns;
      DROP TABLE wallet_terminal_txns;
      ALTER TABLE wallet_terminal_txns_new RENAME TO wallet_terminal_txns;
      CREATE INDEX wallet_terminal_txns_day ON wallet_terminal_txns (local_date, reader_id);
      CREATE INDEX wallet_terminal_txns_review ON wallet_terminal_txns (review, local_date) WHERE review IS NOT NULL;`,
  },
  {
    // A card holder's PIN for debits above access.wallet.pinAboveDailyFen: a scrypt hash, never the digits, and the
    // wrong tries in a row that lock it for a while.
    version: 23,
    name: 'wallet PINs',
    up: `
      CREATE TABLE wallet_pins (
        person_id INTEGER PRIMARY KEY REFERENCES persons(id),
        hash TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER,
        updated_by TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );`,
  },
];
