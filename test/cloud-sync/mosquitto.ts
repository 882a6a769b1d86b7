/**
 * A real Mosquitto (Debian package `mosquitto`) for the cloud-sync tests and benchmark: started on a free
 * loopback port with a temp config, optionally with TLS (a CA and certificates made with `openssl`) and a
 * password file (`mosquitto_passwd`). It can be stopped and started again on the same port.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/bin.js';

export interface MosquittoOptions {
  tls?: { requireClientCert?: boolean } | undefined;
  /** username → password; anonymous clients are refused when set. */
  users?: Record<string, string> | undefined;
}

export interface Pki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all made with openssl. */
export function makePki(dir: string): Pki {
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=city-test-ca']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=demo-school']);
  run(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2']);
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}

export class Mosquitto {
  readonly dir: string;
  port = 0;
  pki: Pki | undefined;
  private proc: ChildProcess | undefined;
  private readonly passwordFile: string;
  private readonly confFile: string;

  constructor(private readonly opts: MosquittoOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'campus-mosquitto-'));
    this.passwordFile = join(this.dir, 'passwd');
    this.confFile = join(this.dir, 'mosquitto.conf');
    if (opts.tls) this.pki = makePki(this.dir);
  }

  get url(): string {
    return `${this.opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  /** Replaces the password file; takes effect at the next start or reload(). */
  setUsers(users: Record<string, string>): void {
    writeFileSync(this.passwordFile, '');
    for (const [u, p] of Object.entries(users)) execFileSync('mosquitto_passwd', ['-b', this.passwordFile, u, p], { stdio: 'ignore' });
  }

  private writeConf(): void {
    const lines = [
      `listener ${this.port} 127.0.0.1`,
      // Started as root, mosquitto would switch to the `mosquitto` user, which cannot read this temp dir.
      `user ${userInfo().username}`,
      `allow_anonymous ${this.opts.users ? 'false' : 'true'}`,
      // Persistence keeps a receiver's QoS 1 session across the restarts the tests do.
      'persistence true',
      `persistence_location ${this.dir}/`,
      'max_queued_messages 0',
      'max_inflight_messages 0',
      'log_type error',
      'log_type information', // its "running" line is the ready signal (start())
      'log_dest stderr',
    ];
    if (this.opts.users) lines.push(`password_file ${this.passwordFile}`);
    if (this.pki) {
      lines.push(`cafile ${this.pki.ca}`, `certfile ${this.pki.serverCert}`, `keyfile ${this.pki.serverKey}`);
      if (this.opts.tls?.requireClientCert) lines.push('require_certificate true');
    }
    writeFileSync(this.confFile, `${lines.join('\n')}\n`);
  }

  async start(): Promise<void> {
    // Mosquitto cannot listen on port 0 and say where it is, so the port is picked free first. Another process may
    // take it before mosquitto binds: on the first start, try again on another port. A restart keeps its port (the
    // city broker coming back at the same address is what those tests are about).
    const picked = !this.port;
    for (let attempt = 1; ; attempt++) {
      if (picked) this.port = await freePort();
      try {
        return await this.startOnce();
      } catch (err) {
        if (!picked || attempt >= 5 || !/Address already in use/i.test((err as Error).message)) throw err;
      }
    }
  }

  private async startOnce(): Promise<void> {
    if (this.opts.users && !this.proc) this.setUsers(this.opts.users);
    this.writeConf();
    const proc = spawn('mosquitto', ['-c', this.confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    // Ready when mosquitto says it is running (logged after its listener is bound), not when something answers on
    // the port, which could be another process that took it.
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      const timer = setTimeout(() => reject(new Error(`mosquitto did not start on ${this.port} within 10 s: ${stderr}`)), 10_000);
      const onData = (d: Buffer): void => {
        stderr += d.toString();
        if (!/mosquitto version \S+ running/.test(stderr)) return;
        clearTimeout(timer);
        proc.off('exit', onExit);
        resolve();
      };
      const onExit = (): void => {
        clearTimeout(timer);
        if (this.proc === proc) this.proc = undefined;
        reject(new Error(`mosquitto exited: ${stderr}`));
      };
      proc.stderr!.on('data', onData);
      proc.once('exit', onExit);
    });
  }

  /** SIGHUP: mosquitto reloads its password file. */
  reload(): void {
    this.proc?.kill('SIGHUP');
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
