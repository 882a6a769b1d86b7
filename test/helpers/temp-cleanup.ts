// A vitest setup file (vitest.config.ts, vitest.e2e.config.ts). Its afterAll is registered before the test file's
// own, and after-hooks run in reverse order, so this runs last: after the file has stopped its gateways.
import { afterAll } from 'vitest';
import { removeTempDirs } from './temp.js';

afterAll(() => removeTempDirs());
