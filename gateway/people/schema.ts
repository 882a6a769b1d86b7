/** People and cards as the API and the roster import take and give them. */
import { z } from 'zod';
import type { CardStatus, PersonRef, PersonRole } from './types.js';
import { CARD_FORMATS, normalizeUid } from '../core/card-number.js';

export const personRoleSchema = z.enum(['student', 'staff', 'visitor']) satisfies z.ZodType<PersonRole>;
export const cardStatusSchema = z.enum(['active', 'lost', 'blocked', 'expired']) satisfies z.ZodType<CardStatus>;
export const cardFormatSchema = z.enum(CARD_FORMATS);

/** School ids (学号/工号): no spaces or slashes so they can appear in URLs and topics. */
export const externalIdSchema = z.string().trim().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-" (at most 64)');
export const uidSchema = z.string().transform((s, ctx) => {
  const r = normalizeUid(s);
  if (r.ok) return r.value;
  ctx.issues.push({ code: 'custom', message: r.error.message, input: s });
  return z.NEVER;
});
/** Validity dates are school-local calendar dates, inclusive. */
export const localDateSchema = z.iso.date();

export interface Person extends PersonRef {
  /** Staff allowed through during a lockdown (security guards, the principal). */
  security: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface Card {
  uid: string;
  personId: number;
  status: CardStatus;
  validFrom: string | null;
  validTo: string | null;
  /**
   * `exact`: `uid` is the whole UID. `suffix`: only the low bytes are known (from a decimal roster form that
   * cannot be inverted), and a tap matches when its UID ends with them.
   */
  match: 'exact' | 'suffix';
  issuedAt: string;
  updatedAt: string;
}

export interface PersonWithCards extends Person {
  cards: Card[];
}

export const personCreateSchema = z.object({
  externalId: externalIdSchema,
  name: z.string().trim().min(1).max(64),
  role: personRoleSchema,
  grade: z.string().trim().max(32).nullish(),
  class: z.string().trim().max(32).nullish(),
  scheduleGroup: z.string().trim().min(1).max(64).default('default'),
  security: z.boolean().default(false),
});
export type PersonCreate = z.infer<typeof personCreateSchema>;

export const personUpdateSchema = personCreateSchema.omit({ externalId: true }).partial().extend({
  externalId: externalIdSchema.optional(),
  // Without these overrides `.partial()` would keep the defaults and reset the fields on every update.
  scheduleGroup: z.string().trim().min(1).max(64).optional(),
  security: z.boolean().optional(),
});
export type PersonUpdate = z.infer<typeof personUpdateSchema>;

/** A card is issued by its UID, or by a printed number and the form it is printed in. */
export const cardIssueSchema = z
  .object({
    uid: uidSchema.optional(),
    number: z.string().trim().min(1).max(32).optional(),
    format: cardFormatSchema.optional(),
    validFrom: localDateSchema.nullish(),
    validTo: localDateSchema.nullish(),
  })
  .refine((b) => (b.uid === undefined) !== (b.number === undefined), { message: 'give either uid or number (with format)' })
  .refine((b) => b.number === undefined || b.format !== undefined, { message: 'number needs format', path: ['format'] })
  .refine((b) => !b.validFrom || !b.validTo || b.validFrom <= b.validTo, { message: 'validFrom after validTo', path: ['validTo'] });
export type CardIssue = z.infer<typeof cardIssueSchema>;

export const peopleQuerySchema = z.object({
  q: z.string().trim().max(64).optional(),
  externalId: z.string().trim().max(64).optional(),
  grade: z.string().trim().max(32).optional(),
  class: z.string().trim().max(32).optional(),
  role: personRoleSchema.optional(),
  card: z.string().trim().max(32).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export type PeopleQuery = z.infer<typeof peopleQuerySchema>;

/**
 * A person's schedule group must be one the access rules know, or "default". Returns what is wrong with `group`
 * (for the caller to put after its field name), or null. The roster import and the people API share the rule.
 */
export function scheduleGroupProblem(configured: ReadonlySet<string>, group: string): string | null {
  if (group === 'default' || configured.has(group)) return null;
  return `"${group}" is not configured (access.scheduleGroups: ${[...new Set([...configured, 'default'])].join(', ')})`;
}
