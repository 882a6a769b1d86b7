import { createServer, type AddressInfo } from 'node:net';

/**
 * A loopback TCP port that was free a moment ago (closed again before return). Only for a peer that cannot listen
 * on port 0 and say where it is (Mosquitto); the caller retries on another port when the bind fails with
 * EADDRINUSE, since another process may take the port in between. Processes of ours listen on port 0 instead.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The ports a `campus-gateway start` child started with CAMPUS_HTTP_PORT=0 and CAMPUS_MQTT_PORT=0 bound, read from
 * the banner it prints once both servers listen (gateway/cli/start.ts); undefined until it has printed it.
 */
export function printedPorts(output: string): { http: number; mqtt: number } | undefined {
  const http = /Web console:\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
  const mqtt = /MQTT broker:\s+mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
  return http && mqtt ? { http: Number(http), mqtt: Number(mqtt) } : undefined;
}
