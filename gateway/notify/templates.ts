/**
 * Built-in message texts per event and language. A message names the school, the student (as the school
 * configures), the time and the gate; never the class, card number, a balance outside the low-balance notice, or a
 * picture. SMS providers send their own approved templates with these fields as parameters instead.
 */
import type { MessageKind, NotifyConfig } from '../../config/notify.js';
import type { GuardianLanguage } from '../guardians/schema.js';

export type TemplateKey = MessageKind | 'card_lost_used';

const TEXTS: Record<TemplateKey, Record<GuardianLanguage, string>> = {
  arrival: {
    zh: '【{school}】{student}已于{time}从{gate}进校。',
    ko: '[{school}] {student} 학생이 {time}에 {gate}(으)로 등교했습니다.',
    en: '[{school}] {student} arrived at school at {time} through {gate}.',
  },
  departure: {
    zh: '【{school}】{student}已于{time}从{gate}离校。',
    ko: '[{school}] {student} 학생이 {time}에 {gate}(으)로 하교했습니다.',
    en: '[{school}] {student} left school at {time} through {gate}.',
  },
  late: {
    zh: '【{school}】{student}今天{time}从{gate}到校，已迟到。',
    ko: '[{school}] {student} 학생이 오늘 {time}에 {gate}(으)로 지각 등교했습니다.',
    en: '[{school}] {student} arrived late today, at {time} through {gate}.',
  },
  absent: {
    zh: '【{school}】{student}今天截至{time}未到校，请与学校联系。',
    ko: '[{school}] {student} 학생이 오늘 {time}까지 등교하지 않았습니다. 학교에 연락해 주십시오.',
    en: '[{school}] {student} had not arrived at school by {time} today. Please contact the school.',
  },
  low_balance: {
    zh: '【{school}】{student}的校园卡余额为{balance}元，请及时充值。',
    ko: '[{school}] {student} 학생의 학생증 카드 잔액이 {balance}위안입니다. 충전해 주십시오.',
    en: "[{school}] {student}'s campus card balance is {balance} yuan. Please top it up.",
  },
  card_lost: {
    zh: '【{school}】{student}的校园卡已于{time}挂失。',
    ko: '[{school}] {student} 학생의 학생증 카드가 {time}에 분실 신고되었습니다.',
    en: "[{school}] {student}'s campus card was reported lost at {time}.",
  },
  card_lost_used: {
    zh: '【{school}】{student}已挂失的校园卡于{time}在{gate}被使用，请与学校联系。',
    ko: '[{school}] 분실 신고된 {student} 학생의 카드가 {time}에 {gate}에서 사용되었습니다. 학교에 연락해 주십시오.',
    en: "[{school}] {student}'s card, reported lost, was used at {time} at {gate}. Please contact the school.",
  },
  test: {
    zh: '【{school}】这是一条测试消息：您将通过此号码收到{student}的到校、离校等通知。',
    ko: '[{school}] 테스트 메시지입니다. 이 번호로 {student} 학생의 등하교 알림을 받게 됩니다.',
    en: "[{school}] This is a test message: you will get {student}'s arrival and departure notices at this number.",
  },
  emergency: {
    zh: '【{school}】{text}',
    ko: '[{school}] {text}',
    en: '[{school}] {text}',
  },
};

/**
 * What the console offers to send when a lockdown starts or ends, in each guardian language: a person edits and
 * confirms it (never sent on its own). It says what a parent must do, and nothing about where or why.
 */
export const LOCKDOWN_TEXTS: Record<'started' | 'ended', Record<GuardianLanguage, string>> = {
  started: {
    zh: '学校因安全原因临时封闭，请暂勿来校接送。学生在校内由老师照看。请等待学校的后续通知。',
    ko: '안전상의 이유로 학교가 일시 폐쇄되었습니다. 지금은 학교에 오지 마십시오. 학생들은 교내에서 교사가 보호하고 있습니다. 학교의 다음 안내를 기다려 주십시오.',
    en: 'The school is closed for safety reasons for now. Please do not come to the school; students are inside with their teachers. Wait for the next message from the school.',
  },
  ended: {
    zh: '学校封闭已解除，已恢复正常。感谢您的理解与配合。',
    ko: '학교 폐쇄가 해제되어 정상 운영됩니다. 협조해 주셔서 감사합니다.',
    en: 'The lockdown has ended and the school is back to normal. Thank you for your patience.',
  },
};

export type MessageFields = Partial<Record<'school' | 'student' | 'time' | 'gate' | 'balance' | 'text', string>>;

/** Fills `{name}` placeholders; an unknown one is left as written. */
export function fill(template: string, fields: Record<string, string | undefined>, escape: (s: string) => string = (s) => s): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => {
    const v = fields[name];
    return v === undefined ? whole : escape(v);
  });
}

export function render(key: TemplateKey, language: GuardianLanguage, fields: MessageFields, overrides: NotifyConfig['templates']): string {
  const own = key === 'card_lost_used' ? undefined : overrides[key]?.[language];
  return fill(own ?? TEXTS[key][language], fields);
}

/** The name a message uses: the whole name, or the given name (a Chinese name without its one-character surname). */
export function studentName(name: string, style: NotifyConfig['studentName']): string {
  if (style === 'full') return name;
  const trimmed = name.trim();
  if (/\s/.test(trimmed)) return trimmed.split(/\s+/)[0]!; // "Minjun Kim": the first word
  return trimmed.length >= 2 ? trimmed.slice(1) : trimmed;
}
