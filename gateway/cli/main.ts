#!/usr/bin/env node
/** `campus-gateway`: start the gateway and the tools school IT needs around it. */
import { Command } from 'commander';
import { reportAndExit } from './common.js';
import { packageInfo } from '../core/version.js';
import { registerConfigCommands } from './config-commands.js';
import { registerImportRoster } from './import-roster.js';
import { registerStart } from './start.js';
import { registerUserCommands } from './user.js';
import { registerDiscoverCameras } from './discover-cameras.js';
import { registerCitySign } from './city-sign.js';
import { registerDiscoverControllers } from './discover-controllers.js';
import { registerBackupCommands } from './backup.js';
import { registerErasePerson } from './erase-person.js';

const program = new Command()
  .name('campus-gateway')
  .description('Campus edge gateway: e-cards, cameras, sensors, local MQTT broker and Node-RED, sync to the city.')
  .version(packageInfo().version)
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

registerStart(program);
registerConfigCommands(program);
registerUserCommands(program);
registerDiscoverCameras(program);
registerDiscoverControllers(program);
registerImportRoster(program);
registerCitySign(program);
registerBackupCommands(program);
registerErasePerson(program);

await program.parseAsync(process.argv).catch(reportAndExit);
