import type { CameraNotification } from '../../gateway/cameras/port.js';
import { classifyNotification } from './classify.js';

/**
 * Flattens the onvif library's parsed `NotificationMessage`s (xml2js through its `linerase`: one-element arrays
 * collapsed, attributes under `$`, "true" already turned into `true`) into plain strings. Anything without a
 * topic is dropped: the caller counts how many were dropped. Past `limit` (the MessageLimit the pull asked for)
 * nothing is read: a camera answering one pull with thousands held the event loop for seconds and wrote a row, an
 * alert update and a city envelope for each; those are counted as `overLimit`.
 */
export function normalizeNotifications(raw: unknown, limit: number): { notifications: CameraNotification[]; dropped: number; overLimit: number } {
  const all = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [raw];
  const overLimit = Math.max(0, all.length - limit);
  const list = overLimit > 0 ? all.slice(0, limit) : all;
  const notifications: CameraNotification[] = [];
  let dropped = 0;
  for (const item of list) {
    const n = normalizeOne(item);
    if (n) notifications.push(n);
    else dropped++;
  }
  return { notifications, dropped, overLimit };
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  const o = obj(v);
  if (o && '_' in o) return text(o._);
  return null;
}

function items(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const simple = obj(v)?.simpleItem;
  const list = simple === undefined ? [] : Array.isArray(simple) ? simple : [simple];
  for (const it of list) {
    const attrs = obj(obj(it)?.$);
    const name = text(attrs?.Name);
    const value = text(attrs?.Value);
    if (name !== null && value !== null) out[name] = value;
  }
  return out;
}

function normalizeOne(item: unknown): CameraNotification | null {
  const o = obj(item);
  const rawTopic = text(o?.topic);
  if (!rawTopic) return null;
  // `tns1:RuleEngine/CellMotionDetector/Motion` → `RuleEngine/CellMotionDetector/Motion`; vendors use other prefixes.
  const topic = rawTopic
    .trim()
    .split('/')
    .map((part) => part.replace(/^[\w.-]+:/, ''))
    .join('/');
  const inner = obj(obj(o?.message)?.message) ?? obj(o?.message);
  const attrs = obj(inner?.$);
  const op = text(attrs?.PropertyOperation);
  const data = items(inner?.data);
  return {
    topic,
    operation: op === 'Initialized' || op === 'Changed' || op === 'Deleted' ? op : null,
    utcTime: text(attrs?.UtcTime),
    source: items(inner?.source),
    data,
    ...classifyNotification({ topic, data }),
  };
}
