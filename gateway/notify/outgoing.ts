/**
 * What a queued row says and to whom, as a channel sends it: the recipient (a guardian's number, decrypted only now,
 * at send time, or a WeCom user id; a staff row goes to the channel's own recipient) and the text in the guardian's
 * language. Apart from the sender (sender.ts), which decides when a row goes: pacing, retries, quiet hours, the bound
 * of messages sent but not recorded. Nothing here writes; a row it cannot make a message of fails with the reason.
 */
import type { NotifyConfig } from '../../config/notify.js';
import type { NameLanguage } from '../core/localized-name.js';
import { localTime } from '../core/school-calendar.js';
import type { GuardianStore } from '../guardians/store.js';
import type { Channel, OutgoingMessage } from './channels/types.js';
import type { DueRow, MessageData } from './outbox.js';
import { render, studentName, type MessageFields } from './templates.js';

export interface OutgoingDeps {
  guardians: GuardianStore;
  config: Pick<NotifyConfig, 'studentName' | 'templates'>;
  school: { name: string; timezone: string };
  /** The access point's name in the guardian's language. */
  accessPointName: (id: string, language: NameLanguage) => string;
}

/** The message for `row` on `channel`, or why there is none (a number that does not decrypt, no recipient there). */
export function outgoingMessage(row: DueRow, channel: Channel, d: OutgoingDeps): OutgoingMessage | { error: string } {
  const data = JSON.parse(row.data) as MessageData;
  let phone: string | null = null;
  if (row.phone_enc !== null && row.person_id !== null) {
    try {
      phone = d.guardians.phoneOf({ person_id: row.person_id, phone_enc: row.phone_enc });
    } catch (err) {
      return { error: (err as Error).message };
    }
  }
  const to = channel.recipient({ phone, wecomUser: row.wecom_user });
  if (to === null) return { error: `no recipient for channel ${channel.id} (${channel.type})` };
  const language = row.language ?? 'zh';
  // An emergency broadcast carries a text per guardian language, as the person who sent it confirmed it.
  const text = data.texts?.[language] ?? data.text;
  const fields: MessageFields = {
    school: d.school.name,
    time: localTime(data.at, d.school.timezone).time.slice(0, 5),
    ...(row.student !== null ? { student: studentName(row.student, d.config.studentName) } : {}),
    ...(data.accessPointId ? { gate: d.accessPointName(data.accessPointId, language) } : {}),
    ...(data.balanceFen !== undefined ? { balance: (data.balanceFen / 100).toFixed(2) } : {}),
    ...(text !== undefined ? { text } : {}),
  };
  // A staff digest carries its own text: it goes out as written, under the school's name.
  const staff = row.guardian_id === null && row.person_id === null;
  const key = staff ? 'emergency' : row.event === 'card_lost' && data.variant === 'used' ? 'card_lost_used' : row.event;
  return { id: row.id, event: row.event, to: row.guardian_id === null ? null : to, language, text: render(key, language, fields, d.config.templates), fields };
}
