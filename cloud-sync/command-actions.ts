/**
 * What each city command does once commands.ts has let it run (signed, fresh, for this school, its id new and
 * claimed): through the ports compose.ts adapts (cards, lockdown), never a domain module itself. Apart from the
 * processor, which decides whether a command runs and how the city is answered; here only what running it means, so
 * a new command type is added here and in the contract (contract.ts), not among the checks that keep forgeries out.
 */
import type { AlertService } from '../gateway/alerts/alerts.js';
import type { Clock } from '../gateway/core/clock.js';
import { GatewayError } from '../gateway/core/errors.js';
import { packageInfo } from '../gateway/core/version.js';
import type { Command, CommandResultData } from './contract.js';
import type { CardCommandsPort, LockdownPort } from './ports.js';

export interface CommandActionDeps {
  alerts: AlertService;
  clock: Clock;
  cards?: CardCommandsPort | undefined;
  lockdown?: LockdownPort | undefined;
  /** Whether the result may echo the person's external id. */
  identifying: boolean;
}

/** A command this gateway cannot carry out, with the code the city is answered (`unavailable`: no such module). */
class Failure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Runs a verified command; what it returns is the result's `detail`. Throws when it was not carried out. */
export async function executeCommand(cmd: Command, d: CommandActionDeps): Promise<CommandResultData['detail']> {
  const by = 'city';
  switch (cmd.type) {
    case 'ping':
      return { gatewayTime: new Date(d.clock.now()).toISOString(), version: packageInfo().version };
    case 'alert.ack': {
      const a = d.alerts.acknowledge(cmd.params.alertId, by, cmd.params.note);
      return { alertId: a.id, status: a.status };
    }
    case 'card.block':
    case 'card.unblock': {
      const cards = d.cards;
      if (!cards) throw new Failure('unavailable', 'this gateway has no card module');
      const r =
        cmd.type === 'card.block'
          ? await cards.blockCard(cmd.params.externalId, cmd.params.reason, by)
          : await cards.unblockCard(cmd.params.externalId, cmd.params.reason, by);
      return { cards: r.cards, ...(d.identifying ? { externalId: cmd.params.externalId } : {}) };
    }
    case 'lockdown.start':
    case 'lockdown.end': {
      const l = d.lockdown;
      if (!l) throw new Failure('unavailable', 'this gateway has no access module');
      if (cmd.type === 'lockdown.start') await l.startLockdown(by, cmd.params.reason);
      else await l.endLockdown(by, cmd.params.reason);
      return { lockdown: l.active() };
    }
  }
}

/** The code a command that threw is answered `failed` with: its own where it named one, `internal` otherwise. */
export function failureCode(err: unknown): string {
  return err instanceof Failure || err instanceof GatewayError ? err.code : 'internal';
}
