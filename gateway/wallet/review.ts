/**
 * What an admin sees of an offline sale held for review (docs/wallet.md, "Offline terminals"): the row of
 * `wallet_terminal_txns` with its person, read the same way by the list and by a decision's answer.
 */
import type { OfflineSuspicion } from '../core/wallet-port.js';

export type ReviewStatus = 'pending' | 'accepted' | 'rejected';

/** An offline sale the wallet could not apply by itself, with what became of it. */
export interface OfflineReviewItem {
  readerId: string;
  seq: number;
  uid: string | null;
  person: { id: number; externalId: string; name: string; grade: string | null; class: string | null } | null;
  amountFen: number;
  /** The terminal's time of the sale, and its school day. */
  occurredAt: string;
  localDate: string;
  reason: OfflineSuspicion;
  status: ReviewStatus;
  reviewedBy: string | null;
  reviewedAt: string | null;
  note: string | null;
  /** The ledger entry an accepted sale became. */
  entryId: number | null;
  /** `offline:<batch>`: the upload it came in. */
  upload: string;
  receivedAt: string;
}

export interface ReviewRow {
  reader_id: string;
  seq: number;
  uid: string | null;
  amount_fen: number;
  occurred_at: number;
  local_date: string;
  suspicion: OfflineSuspicion;
  review: ReviewStatus;
  reviewed_by: string | null;
  reviewed_at: string | null;
  review_note: string | null;
  entry_id: number | null;
  tap_id: string;
  created_at: string;
  person_id: number | null;
  external_id: string | null;
  name: string | null;
  grade: string | null;
  class: string | null;
}

export const REVIEW_SELECT = `SELECT x.reader_id, x.seq, x.uid, x.amount_fen, x.occurred_at, x.local_date, x.suspicion, x.review,
    x.reviewed_by, x.reviewed_at, x.review_note, x.entry_id, x.tap_id, x.created_at,
    p.id AS person_id, p.external_id, p.name, p.grade, p.class
  FROM wallet_terminal_txns x LEFT JOIN persons p ON p.id = x.person_id`;

export const fromReviewRow = (r: ReviewRow): OfflineReviewItem => ({
  readerId: r.reader_id,
  seq: r.seq,
  uid: r.uid,
  person: r.person_id === null ? null : { id: r.person_id, externalId: r.external_id!, name: r.name!, grade: r.grade, class: r.class },
  amountFen: r.amount_fen,
  occurredAt: new Date(r.occurred_at).toISOString(),
  localDate: r.local_date,
  reason: r.suspicion,
  status: r.review,
  reviewedBy: r.reviewed_by,
  reviewedAt: r.reviewed_at,
  note: r.review_note,
  entryId: r.entry_id,
  upload: r.tap_id,
  receivedAt: r.created_at,
});
