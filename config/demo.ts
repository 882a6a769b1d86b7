import type { GatewayConfigInput } from './schema.js';

/**
 * The sample school `--demo` runs when no config file is given (a file given with --demo is laid over it).
 * Readers `demo-*` take taps from anyone on the local broker (anonymous clients are allowed only in demo mode);
 * the `sim-*` devices generate a school day's traffic by themselves.
 */
export const demoConfig: GatewayConfigInput = {
  // This machine only: the demo's users have a published password and its broker takes anonymous clients. A file
  // given with --config may open it to the network (README, "Try it").
  http: { host: '127.0.0.1' },
  mqtt: { host: '127.0.0.1' },
  school: { id: 'demo-school', name: '延吉市示范中学', districtId: 'yanbian-edu', timezone: 'Asia/Shanghai' },
  readers: [
    { id: 'demo-gate-in', name: { zh: '正门进', ko: '정문 입구', en: 'Main gate in' }, accessPoint: 'main-gate', direction: 'in', driver: { type: 'mqtt' } },
    { id: 'demo-gate-out', name: { zh: '正门出', ko: '정문 출구', en: 'Main gate out' }, accessPoint: 'main-gate', direction: 'out', driver: { type: 'mqtt' } },
    { id: 'demo-canteen-1', name: { zh: '食堂1号机', ko: '식당 1번 단말', en: 'Canteen till 1' }, accessPoint: 'canteen', driver: { type: 'mqtt' } },
    { id: 'sim-east-gate-in', name: { zh: '东门进', ko: '동문 입구', en: 'East gate in' }, accessPoint: 'east-gate', direction: 'in', driver: { type: 'simulated' } },
    { id: 'sim-east-gate-out', name: { zh: '东门出', ko: '동문 출구', en: 'East gate out' }, accessPoint: 'east-gate', direction: 'out', driver: { type: 'simulated' } },
    { id: 'sim-canteen-2', name: { zh: '食堂2号机', ko: '식당 2번 단말', en: 'Canteen till 2' }, accessPoint: 'canteen', driver: { type: 'simulated' } },
  ],
  // What the console calls each zone in each language (the ids stay in details lines and URLs).
  zones: [
    { id: 'gate-main', name: { zh: '正门', ko: '정문', en: 'Main gate' } },
    { id: 'gate-east', name: { zh: '东门', ko: '동문', en: 'East gate' } },
    { id: 'canteen', name: { zh: '食堂', ko: '식당', en: 'Canteen' } },
    { id: 'lab-1', name: { zh: '化学实验室', ko: '화학 실험실', en: 'Chemistry lab' } },
    { id: 'classroom-101', name: { zh: '101教室', ko: '101 교실', en: 'Room 101' } },
    { id: 'classroom-102', name: { zh: '102教室', ko: '102 교실', en: 'Room 102' } },
    { id: 'classroom-103', name: { zh: '103教室', ko: '103 교실', en: 'Room 103' } },
    { id: 'dorm-a', name: { zh: 'A栋宿舍', ko: 'A동 기숙사', en: 'Dorm A' } },
    { id: 'playground', name: { zh: '操场', ko: '운동장', en: 'Playground' } },
  ],
  access: {
    accessPoints: [
      // The main gate lets anyone with a valid card through at any hour, so the README's demo taps work whenever you try them.
      { id: 'main-gate', name: { zh: '正门', ko: '정문', en: 'Main gate' }, kind: 'gate', zone: 'gate-main', gateId: 'main-gate' },
      {
        id: 'east-gate',
        name: { zh: '东门', ko: '동문', en: 'East gate' },
        kind: 'gate',
        zone: 'gate-east',
        gateId: 'east-gate',
        antiPassback: true,
        schedule: { student: [{ days: [1, 2, 3, 4, 5, 6, 7], from: '06:00', to: '22:00' }] },
      },
      { id: 'canteen', name: { zh: '食堂', ko: '식당', en: 'Canteen' }, kind: 'canteen', zone: 'canteen' },
      {
        id: 'lab-1',
        name: { zh: '化学实验室', ko: '화학 실험실', en: 'Chemistry lab' },
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
      { id: 'demo-sensor-101', name: { zh: '101教室传感器', ko: '101 교실 센서', en: 'Room 101 sensor' }, zone: 'classroom-101', kind: 'environment', model: 'generic-json', intervalS: 60 },
      { id: 'sim-sensor-102', name: { zh: '102教室传感器', ko: '102 교실 센서', en: 'Room 102 sensor' }, zone: 'classroom-102', kind: 'environment', intervalS: 30, source: { type: 'simulated' } },
      { id: 'sim-sensor-103', name: { zh: '103教室传感器', ko: '103 교실 센서', en: 'Room 103 sensor' }, zone: 'classroom-103', kind: 'environment', intervalS: 30, source: { type: 'simulated' } },
      { id: 'sim-sensor-lab-1', name: { zh: '化学实验室传感器', ko: '화학 실험실 센서', en: 'Chemistry lab sensor' }, zone: 'lab-1', kind: 'environment', intervalS: 30, source: { type: 'simulated' } },
      { id: 'sim-sensor-canteen', name: { zh: '食堂传感器', ko: '식당 센서', en: 'Canteen sensor' }, zone: 'canteen', kind: 'environment', intervalS: 30, source: { type: 'simulated' } },
      { id: 'sim-smoke-dorm-a', name: { zh: 'A栋宿舍烟感', ko: 'A동 기숙사 연기 감지기', en: 'Dorm A smoke detector' }, zone: 'dorm-a', kind: 'smoke', intervalS: 60, source: { type: 'simulated' } },
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
      { id: 'cam-main-gate', name: { zh: '正门摄像头', ko: '정문 카메라', en: 'Main gate camera' }, host: 'simulated', simulated: true, accessPoints: ['main-gate'], zones: ['gate-main'] },
      { id: 'cam-east-gate', name: { zh: '东门摄像头', ko: '동문 카메라', en: 'East gate camera' }, host: 'simulated', simulated: true, accessPoints: ['east-gate'], zones: ['gate-east'] },
      { id: 'cam-canteen', name: { zh: '食堂摄像头', ko: '식당 카메라', en: 'Canteen camera' }, host: 'simulated', simulated: true, accessPoints: ['canteen'], zones: ['canteen'] },
      // Drops out for two minutes every ten, so the console shows camera_offline raised and resolved.
      {
        id: 'cam-playground',
        name: { zh: '操场摄像头', ko: '운동장 카메라', en: 'Playground camera' },
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
  // The chemistry lab's door hangs on a door controller, simulated on loopback: the gateway keeps its card list, reads
  // its swipes and opens it remotely over the controllers' UDP protocol, as it would a real one on the LAN.
  controllers: {
    listen: '127.0.0.1:0',
    devices: [{ id: 'sim-lab-door', serial: 423187757, address: '127.0.0.1', simulated: true, doors: { '1': { accessPoint: 'lab-1', name: { zh: '化学实验室门', ko: '화학 실험실 문', en: 'Chemistry lab door' } } } }],
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
