import type { GuardianLanguage } from '../guardians/schema.js';

/**
 * The demo school's guardians (made-up numbers in a reserved-looking range). 李明 (S20250001, card 0A1B2C3D) has a
 * consenting guardian, so a tap at the main gate puts one arrival message in the demo's sink; 王芳's second guardian
 * has not consented, so the delivery log also shows a suppressed row.
 */
export const DEMO_GUARDIANS: { externalId: string; name: string; relation: string; phone: string; language: GuardianLanguage; consent: boolean }[] = [
  { externalId: 'S20250001', name: '李强', relation: '父亲', phone: '13800138000', language: 'zh', consent: true },
  { externalId: 'S20250002', name: '王丽', relation: '母亲', phone: '13900139000', language: 'ko', consent: true },
  { externalId: 'S20250002', name: '王军', relation: '父亲', phone: '13700137000', language: 'zh', consent: false },
];
