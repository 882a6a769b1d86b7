/** Channels without a provider protocol: a local MQTT topic, a generic HTTP request template, and the demo's sink. */
import { readFileSync } from 'node:fs';
import type { NotifyChannelOf as Cfg } from '../../../config/notify.js';
import type { MqttPort } from '../../core/mqtt-port.js';
import { fill } from '../templates.js';
import { request, retryableStatus, shortReason, type Channel, type OutgoingMessage, type SendResult } from './types.js';

const phoneRecipient = (g: { phone: string | null }): string | null => g.phone;

/** Publishes each message (QoS 1) for a school's own integration; the broker's ACL keeps devices off it. */
export class MqttChannel implements Channel {
  readonly type = 'mqtt';
  readonly id: string;
  constructor(
    private readonly cfg: Cfg<'mqtt'>,
    private readonly mqtt: MqttPort,
  ) {
    this.id = cfg.id;
  }
  recipient = phoneRecipient;
  async send(m: OutgoingMessage): Promise<SendResult> {
    try {
      await this.mqtt.publish(`${this.cfg.topic}/${m.event}`, { id: m.id, event: m.event, to: m.to, language: m.language, text: m.text, fields: m.fields }, { qos: 1 });
      return { ok: true };
    } catch (err) {
      return { ok: false, retry: true, reason: shortReason(`publish failed: ${(err as Error).message}`) };
    }
  }
}

/** The demo's message sink: accepts every message; the outbox row, shown in the delivery log, is the message. */
export class SinkChannel implements Channel {
  readonly type = 'sink';
  readonly id: string;
  readonly received: OutgoingMessage[] = [];
  constructor(cfg: Cfg<'sink'>) {
    this.id = cfg.id;
  }
  recipient = phoneRecipient;
  send(m: OutgoingMessage): Promise<SendResult> {
    this.received.push(m);
    if (this.received.length > 100) this.received.shift();
    return Promise.resolve({ ok: true, ref: `sink-${m.id}` });
  }
}

const jsonEscape = (s: string): string => JSON.stringify(s).slice(1, -1);
const xmlEscape = (s: string): string => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * How a value goes into the body: escaped for the body's own syntax, or a text (a roster's name, a staff member's
 * message) could add fields of its own: `&to=139…` in a form was a second recipient.
 */
function bodyEscape(json: boolean, contentType: string | undefined): (s: string) => string {
  if (json) return jsonEscape;
  if (/x-www-form-urlencoded/i.test(contentType ?? '')) return encodeURIComponent;
  if (/xml/i.test(contentType ?? '')) return xmlEscape;
  return (s) => s;
}

/** Any other gateway: method, URL, headers and body from templates with placeholders; success is a 2xx (and a marker). */
export class HttpChannel implements Channel {
  readonly type = 'http';
  readonly id: string;
  private readonly headers: Record<string, string>;
  constructor(private readonly cfg: Cfg<'http'>) {
    this.id = cfg.id;
    this.headers = { ...cfg.headers };
    for (const [name, file] of Object.entries(cfg.headerFiles)) this.headers[name] = readFileSync(file, 'utf8').trim();
  }
  recipient = phoneRecipient;
  async send(m: OutgoingMessage): Promise<SendResult> {
    const fields: Record<string, string | undefined> = { ...m.fields, to: m.to ?? '', text: m.text, event: m.event, language: m.language, id: String(m.id) };
    const url = fill(this.cfg.url, fields, encodeURIComponent);
    const contentType = Object.entries(this.headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
    const json = contentType ? contentType.includes('json') : this.cfg.body.trimStart().startsWith('{');
    const headers = { ...(json && !contentType ? { 'content-type': 'application/json' } : {}), ...this.headers };
    const body = this.cfg.method === 'GET' ? undefined : fill(this.cfg.body, fields, bodyEscape(json, contentType));
    const res = await request(url, { method: this.cfg.method, headers, body }, this.cfg.timeoutMs);
    if (!res.ok) return res;
    if (res.status >= 200 && res.status < 300 && (this.cfg.successContains === undefined || res.text.includes(this.cfg.successContains))) return { ok: true };
    return { ok: false, retry: retryableStatus(res.status), reason: shortReason(`HTTP ${res.status}: ${res.text}`) };
  }
}
