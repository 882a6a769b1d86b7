import type { CameraEventKind, CameraNotification } from '../../gateway/cameras/port.js';

const TRUE = new Set(['true', '1', 'on', 'active']);

function flag(data: Record<string, string>, names: string[]): boolean {
  for (const n of names) {
    const v = data[n];
    if (v !== undefined) return TRUE.has(v.toLowerCase());
  }
  // No state item at all: an occurrence, not a property change.
  return Object.keys(data).length === 0;
}

/**
 * ONVIF topics → what happened: vendor knowledge, so it lives in the driver, which hands the cameras domain the
 * `kind` and whether it is `active`. Vendors spell topics differently (`RuleEngine/CellMotionDetector/Motion`,
 * `VideoSource/MotionAlarm`, `RuleEngine/TamperDetector/Tamper`, `VideoSource/GlobalSceneChange/…`,
 * `RuleEngine/LineDetector/Crossed`, `RuleEngine/FieldDetector/ObjectsInside`), so we match on the words.
 */
export function classifyNotification(n: Pick<CameraNotification, 'topic' | 'data'>): { kind: CameraEventKind; active: boolean } {
  const t = n.topic.toLowerCase();
  if (/tamper|globalscenechange|imagetoo(blurry|dark|bright)|signalloss/.test(t)) {
    return { kind: 'tamper', active: flag(n.data, ['IsTamper', 'State', 'IsActive', 'Value', 'Signal']) };
  }
  if (/linedetector|linecross|\/crossed$/.test(t)) return { kind: 'line_crossing', active: true };
  if (/fielddetector|objectsinside|intrusion/.test(t)) return { kind: 'field_crossing', active: flag(n.data, ['IsInside', 'State', 'IsActive']) };
  if (/motion/.test(t)) return { kind: 'motion', active: flag(n.data, ['IsMotion', 'State', 'IsActive', 'Motion', 'Value']) };
  return { kind: 'other', active: false };
}
