/** What a roster import answers (API body, CLI `--json`): every row accepted or rejected, with its line number. */
import type { CardFormat } from '../core/card-number.js';
import type { RosterEncoding } from './parse.js';

export interface AcceptedRow {
  line: number;
  externalId: string;
  name: string;
  action: 'created' | 'updated' | 'unchanged';
  card?: { uid: string; match: 'exact' | 'suffix'; action: 'issued' | 'unchanged' | 'completed'; note?: string };
}

export interface RejectedRow {
  line: number;
  externalId?: string;
  reason: string;
}

export interface RosterReport {
  /** True when the whole file was applied; false when it was not (see `written`). */
  committed: boolean;
  /**
   * Rows written: all of them when committed; 0 when any row was rejected, on a dry run and on a file-level error;
   * in between only when someone changed the same people or cards while a large file was being written.
   */
  written: number;
  /** Null when the file is in none of them. */
  encoding: RosterEncoding | null;
  cardFormat: CardFormat;
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  cardsIssued: number;
  accepted: AcceptedRow[];
  rejected: RejectedRow[];
  /** File-level problems (no header, missing or repeated columns, unreadable CSV, a cap passed). */
  errors: string[];
  /** Header cells that name no roster field: their columns were not read (a card column under another name shows here). */
  ignoredColumns: string[];
}
