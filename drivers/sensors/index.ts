/** The payload families the sensors domain listens to, and the demo's simulated sensors. Wired in gateway/compose.ts. */
import type { GatewayContext } from '../../gateway/module/context.js';
import type { PayloadFamily, SensorSimulation } from '../../gateway/sensors/contract.js';
import { nativeFamily } from './native.js';
import { SimulatedSensors, type SimulatedSensor } from './simulated.js';
import { tasmotaFamily } from './tasmota.js';
import { zigbee2mqttFamily } from './zigbee2mqtt.js';

export const sensorPayloadFamilies: readonly PayloadFamily[] = [nativeFamily, zigbee2mqttFamily, tasmotaFamily];
export { SimulatedSensors, simulatedPayload, type SimulatedSensor, type SimulationOptions } from './simulated.js';

/** The simulation for the configured `simulated` sensors, publishing through the embedded broker. */
export function sensorSimulation(ctx: GatewayContext, sensors: readonly SimulatedSensor[]): SensorSimulation {
  const log = ctx.log.child({ component: 'sensor-simulation' });
  return new SimulatedSensors({
    sensors: sensors.map(({ id, zone, kind, intervalS }) => ({ id, zone, kind, intervalS })),
    publish: (topic, payload) => ctx.mqtt.publish(topic, payload),
    clock: ctx.clock,
    timezone: ctx.config.school.timezone,
    stuffyRoomSensor: ctx.config.sensors.simulation.stuffyRoomSensor,
    lessonCycleS: ctx.config.sensors.simulation.lessonCycleS,
    onError: (err) => log.debug({ err }, 'simulated reading not published'),
  });
}
