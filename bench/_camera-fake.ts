/**
 * The fake camera for bench/camera-flap, in its own process so the benchmark's RSS is the gateway's alone.
 * Commands over IPC: start, stop, emit, stats; each is answered with `{ id, port, subs, created }`.
 */
import { FakeOnvifDevice } from '../test/cameras/fake-onvif/device.js';

interface Command {
  id: number;
  cmd: 'start' | 'stop' | 'emit' | 'stats';
}

const device = new FakeOnvifDevice({ pullHoldMs: 1_000 });
process.on('message', (m: Command) => {
  void (async () => {
    if (m.cmd === 'start') await device.start();
    else if (m.cmd === 'stop') await device.stop();
    else if (m.cmd === 'emit') device.emit('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: 'true' });
    process.send?.({ id: m.id, port: device.port, subs: device.activeSubscriptions(), created: device.stats.subscriptionsCreated });
  })();
});
process.on('disconnect', () => process.exit(0));
