/**
 * `campus-gateway discover-controllers`: broadcasts get-controller (UHPPOTE/WeiGeng) and lists every controller that
 * answers: serial, IP, firmware, and whether `controllers.devices` has it (and at that address).
 */
import type { Command } from 'commander';
import { discoverControllers } from '../compose.js';
import { commandConfig, configOption, reportAndExit } from './common.js';

export function registerDiscoverControllers(program: Command): void {
  program
    .command('discover-controllers')
    .description('find UHPPOTE/WeiGeng door controllers on the local network (UDP broadcast) and show which are configured')
    .addOption(configOption())
    .option('--broadcast <ip:port>', 'where to broadcast (default controllers.broadcast, 255.255.255.255:60000)')
    .option('--bind <ip>', 'the local address to send from (default: the host of controllers.listen)')
    .option('--timeout <ms>', 'how long to wait for answers', '2000')
    .option('--json', 'print JSON')
    .action(async (opts: { config?: string; broadcast?: string; bind?: string; timeout: string; json?: boolean }) => {
      try {
        const config = commandConfig(opts);
        const found = await discoverControllers(config, { broadcast: opts.broadcast, bind: opts.bind, waitMs: Number(opts.timeout) });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ items: found }, null, 2)}\n`);
          return;
        }
        if (found.length === 0) process.stdout.write('no controller answered (same network segment? UDP 60000 open?)\n');
        for (const f of found) {
          const reg = f.deviceId ? `registered as ${f.deviceId}${f.addressMismatch ? ' (at another address in the config)' : ''}` : 'not registered';
          process.stdout.write(`${String(f.serial).padEnd(12)} ${f.address.padEnd(16)} ${f.firmware.padEnd(7)} ${f.mac}  ${reg}\n`);
        }
      } catch (err) {
        reportAndExit(err);
      }
    });
}
