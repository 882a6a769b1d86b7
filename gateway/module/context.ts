import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../../config/schema.js';
import type { AlertService } from '../alerts/alerts.js';
import type { UserStore } from '../auth/users.js';
import type { HttpModule } from '../http/server.js';
import type { BatchWriter } from '../storage/batch-writer.js';
import type { Database } from '../storage/db.js';
import type { EventBus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { MqttPort } from '../core/mqtt-port.js';
import type { DeferredWrites } from '../storage/deferred-writes.js';

/** What every module is handed by the composition root. Nothing here is a global. */
export interface GatewayContext {
  config: GatewayConfig;
  demo: boolean;
  log: Logger;
  clock: Clock;
  db: Database;
  writer: BatchWriter;
  bus: EventBus;
  mqtt: MqttPort;
  alerts: AlertService;
  users: UserStore;
  metrics: Registry;
  /**
   * Where a write that may be answered before it is durable (a gate's tap) waits when the storage fails (disk full).
   * Absent: such a failure is thrown like any other.
   */
  deferred?: DeferredWrites;
}

export interface ComponentHealth {
  ok: boolean;
  /** For the log and for IT reading /healthz: English. */
  detail?: string;
  /**
   * What the detail says, as a stable code with its values, which the console shows in its language
   * (`health.<code>` in its dictionaries); a detail without a code is shown as written.
   */
  code?: string;
  params?: Record<string, string | number>;
  /** Working, but in a way the operator chose against the secure default (shown in /healthz, never a 503). */
  warning?: string;
  /**
   * Off, by the operator's choice or for want of something only they can give (a secret): /healthz shows it as
   * `status: "disabled"` with `detail` saying why, and it never makes the gateway unhealthy (`ok` stays true).
   */
  disabled?: boolean;
}

/**
 * A capability plugged into the gateway (access, sensors, cameras, cloud sync, Node-RED, …).
 * Created by the composition root with what it needs; started in order and stopped in reverse.
 */
export interface GatewayModule extends HttpModule {
  /** Runs on the first start of a demo data dir, before start(). */
  seedDemo?(): void | Promise<void>;
  start?(): void | Promise<void>;
  stop?(): void | Promise<void>;
  /** Reported in /healthz under components.<name>; a false `ok` turns /healthz into 503. */
  health?(): ComponentHealth;
}
