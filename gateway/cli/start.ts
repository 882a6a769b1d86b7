import type { Command } from 'commander';
import { startGateway, StartupError } from '../compose.js';
import { createLogger } from '../core/logger.js';
import { yieldHelperThreads } from '../core/thread-priority.js';
import { commandConfig, configOption, demoOption, reportAndExit } from './common.js';
import { DEMO_PASSWORD } from '../auth/users.js';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the gateway')
    .addOption(configOption())
    .addOption(demoOption())
    .action(async (opts: { config?: string; demo?: boolean }) => {
      const config = commandConfig(opts);
      const log = createLogger(config.log);
      let gateway;
      try {
        gateway = await startGateway({ config, demo: opts.demo ?? false, log, configFile: opts.config ?? process.env.CAMPUS_CONFIG });
      } catch (err) {
        if (err instanceof StartupError) {
          log.fatal({ code: err.code }, err.message);
          process.exit(1);
        }
        reportAndExit(err);
      }
      // Here, not in startGateway: it is about this whole process, which a test runner's is not.
      log.debug({ threads: yieldHelperThreads() }, 'helper threads at the lowest priority');
      const lines = [
        '',
        `  campus-edge-gateway is running${opts.demo ? ' (demo school)' : ''}`,
        `  Web console:  ${gateway.httpUrl}`,
        `  MQTT broker:  ${gateway.mqttUrl}   (WebSocket: ${gateway.httpUrl.replace(/^http/, 'ws')}mqtt)`,
        `  Health:       ${gateway.httpUrl}healthz`,
      ];
      if (opts.demo) lines.push(`  Demo users:   admin / ${DEMO_PASSWORD}  (also security, viewer; same password)`);
      process.stdout.write(`${lines.join('\n')}\n\n`);

      let stopping = false;
      const shutdown = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'shutting down');
        const force = setTimeout(() => {
          log.error('shutdown took too long; exiting');
          process.exit(1);
        }, 15_000);
        force.unref();
        gateway.stop().then(
          () => {
            log.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
    });
}
