/** The one place that knows every kind of channel: config/notify.ts declares their settings, this makes them. */
import type { NotifyChannelConfig } from '../../../config/notify.js';
import type { MqttPort } from '../../core/mqtt-port.js';
import { HttpChannel, MqttChannel, SinkChannel } from './simple.js';
import { AliyunSmsChannel, TencentSmsChannel } from './sms.js';
import type { Channel } from './types.js';
import { WecomAppChannel, WecomBotChannel } from './wecom.js';

export function createChannel(cfg: NotifyChannelConfig, mqtt: MqttPort): Channel {
  switch (cfg.type) {
    case 'mqtt': return new MqttChannel(cfg, mqtt);
    case 'http': return new HttpChannel(cfg);
    case 'sms-aliyun': return new AliyunSmsChannel(cfg);
    case 'sms-tencent': return new TencentSmsChannel(cfg);
    case 'wecom-app': return new WecomAppChannel(cfg);
    case 'wecom-bot': return new WecomBotChannel(cfg);
    case 'sink': return new SinkChannel(cfg);
  }
}
