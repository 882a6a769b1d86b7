/** The ONVIF camera driver the composition root hands to the cameras domain. */
import type { CameraDriver } from '../../gateway/cameras/port.js';
import { OnvifSession } from './client.js';
import { discover } from './discovery.js';
import { SimulatedSession } from './simulated.js';

export { OnvifSession } from './client.js';
export { discover, parseProbeMatch, probeMessage } from './discovery.js';
export { SimulatedSession } from './simulated.js';
export { encodeJpeg, renderCard } from './jpeg.js';

/** `timeZone`: the one simulated cameras stamp their pictures in, as a school sets its real cameras' clocks. */
export function createOnvifDriver(timeZone = 'UTC'): CameraDriver {
  return {
    session: (endpoint, simulated) => (simulated ? new SimulatedSession(endpoint, Date.now, Math.random, timeZone) : new OnvifSession(endpoint)),
    discover,
  };
}
