import type { GatewayConfigInput } from './schema.js';

/**
 * The sample school `--demo` runs when no config file is given (a file given with --demo is laid over it).
 * Readers `demo-*` take taps from anyone on the local broker (anonymous clients are allowed only in demo mode);
 * the `sim-*` devices generate a school day's traffic by themselves.
 */
export const demoConfig: GatewayConfigInput = {
  school: { id: 'demo-school', name: '延吉市示范中学', districtId: 'yanbian-edu', timezone: 'Asia/Shanghai' },
  readers: [
    { id: 'demo-gate-in', accessPoint: 'main-gate', direction: 'in', driver: { type: 'mqtt' } },
    { id: 'demo-gate-out', accessPoint: 'main-gate', direction: 'out', driver: { type: 'mqtt' } },
    { id: 'demo-canteen-1', accessPoint: 'canteen', driver: { type: 'mqtt' } },
    { id: 'sim-east-gate-in', accessPoint: 'east-gate', direction: 'in', driver: { type: 'simulated' } },
    { id: 'sim-east-gate-out', accessPoint: 'east-gate', direction: 'out', driver: { type: 'simulated' } },
    { id: 'sim-canteen-2', accessPoint: 'canteen', driver: { type: 'simulated' } },
  ],
  access: {
    accessPoints: [
      // The main gate lets anyone with a valid card through at any hour, so the README's demo taps work whenever you try them.
      { id: 'main-gate', name: '正门 Main gate', kind: 'gate', zone: 'gate-main', gateId: 'main-gate' },
      {
        id: 'east-gate',
        name: '东门 East gate',
        kind: 'gate',
        zone: 'gate-east',
        gateId: 'east-gate',
        antiPassback: true,
        schedule: { student: [{ days: [1, 2, 3, 4, 5, 6, 7], from: '06:00', to: '22:00' }] },
      },
      { id: 'canteen', name: '食堂 Canteen', kind: 'canteen', zone: 'canteen' },
      {
        id: 'lab-1',
        name: '化学实验室 Chemistry lab',
        kind: 'door',
        zone: 'lab-1',
        schedule: { student: [{ days: [1, 2, 3, 4, 5], from: '08:00', to: '17:00' }] },
      },
    ],
    scheduleGroups: [
      { id: 'day', arrivalCutoff: '07:50' },
      { id: 'boarding', arrivalCutoff: '07:30' },
      { id: 'staff', arrivalCutoff: '07:40' },
    ],
  },
  sensors: {
    sensors: [
      { id: 'demo-sensor-101', zone: 'classroom-101', kind: 'environment', model: 'generic-json', intervalS: 60 },
      { id: 'sim-sensor-102', zone: 'classroom-102', kind: 'environment', intervalS: 30, source: { type: 'simulated' } },
      { id: 'sim-sensor-103', zone: 'classroom-103', kind: 'environment', intervalS: 30, source: { type: 'simulated' } },
      { id: 'sim-sensor-lab-1', zone: 'lab-1', kind: 'environment', intervalS: 30, source: { type: 'simulated' } },
      { id: 'sim-sensor-canteen', zone: 'canteen', kind: 'environment', intervalS: 30, source: { type: 'simulated' } },
      { id: 'sim-smoke-dorm-a', zone: 'dorm-a', kind: 'smoke', intervalS: 60, source: { type: 'simulated' } },
    ],
    // Classroom 103 runs a compressed lesson from the moment the demo starts: CO2 passes 1500 ppm within two
    // minutes, and the demo's shorter duration (2 min instead of 5) raises co2_high about 3–4 minutes in.
    simulation: { stuffyRoomSensor: 'sim-sensor-103', lessonCycleS: 600 },
    thresholds: [
      { type: 'co2_high', metric: 'co2', zones: ['classroom-*'], above: 1500, clearAt: 1400, forS: 120, severity: 'warning' },
      { type: 'smoke_detected', metric: 'smoke', equals: true, severity: 'critical' },
      { type: 'water_leak', metric: 'leak', equals: true, severity: 'critical' },
    ],
  },
  cameras: {
    cameras: [
      { id: 'cam-main-gate', name: '正门摄像头', host: 'simulated', simulated: true, accessPoints: ['main-gate'], zones: ['gate-main'] },
      { id: 'cam-east-gate', name: '东门摄像头', host: 'simulated', simulated: true, accessPoints: ['east-gate'], zones: ['gate-east'] },
      { id: 'cam-canteen', name: '食堂摄像头', host: 'simulated', simulated: true, accessPoints: ['canteen'], zones: ['canteen'] },
      // Drops out for two minutes every ten, so the console shows camera_offline raised and resolved.
      {
        id: 'cam-playground',
        name: '操场摄像头',
        host: 'simulated',
        simulated: true,
        zones: ['playground'],
        simulation: { motionEveryS: 120, offlineEveryS: 600, offlineForS: 120 },
      },
    ],
    // Motion on the playground outside school hours raises an intrusion alert with the camera's picture.
    zoneSchedules: { playground: [{ days: [1, 2, 3, 4, 5], from: '07:00', to: '18:00' }] },
    pollIntervalMs: 5_000,
  },
  // Guardians' messages go to the demo's sink: kept and shown in the delivery log, sent nowhere. The key seals the
  // demo guardians' numbers; a real school sets its own (CAMPUS_NOTIFY_KEY).
  notify: {
    enabled: true,
    secretKey: 'demo-only-guardian-key-not-secret',
    guardianChannel: 'demo-sink',
    channels: [{ id: 'demo-sink', type: 'sink' }],
  },
};
