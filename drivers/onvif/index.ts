/** The ONVIF camera driver the composition root hands to the cameras domain. */
import type { CameraDriver } from '../../gateway/cameras/port.js';
import { OnvifSession } from './client.js';
import { discover } from './discovery.js';
import { SimulatedSession } from './simulated.js';

export { OnvifSession } from './client.js';
export { discover, parseProbeMatch, probeMessage } from './discovery.js';
export { SimulatedSession } from './simulated.js';
export { encodeJpeg, renderCard } from './jpeg.js';

export function createOnvifDriver(): CameraDriver {
  return {
    session: (endpoint, simulated) => (simulated ? new SimulatedSession(endpoint) : new OnvifSession(endpoint)),
    discover,
  };
}
