/**
 * The one sampler every benchmark uses for a process's own figures: resident set size from /proc/<pid>/status
 * (VmRSS) and CPU time from /proc/<pid>/stat (utime + stime, all threads), sampled through the run so the peak is
 * seen, not only the value at the end. Linux only, as the gateway's target boxes are.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on every Linux the gateway runs on). */
const USER_HZ = 100;

export interface ProcReading {
  rssBytes: number;
  /** User + system CPU seconds of the whole process so far. */
  cpuS: number;
}

/** One reading of a process's RSS and CPU time; throws if the process is gone. */
export function readProc(pid: number): ProcReading {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields from after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of the whole line (utime, stime) are the 12th and 13th after the name.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: m ? Number(m[1]) * 1024 : Number.NaN, cpuS: ticks / USER_HZ };
}

/** What a process did between `window()` and `end()`. */
export interface ProcFigures {
  seconds: number;
  cpuS: number;
  /** CPU time as a share of one core over the window (100 = one core busy throughout). */
  cpuPctOfCore: number;
  peakRssMb: number;
  endRssMb: number;
  samples: number;
}

export interface ProcWindow {
  end(): ProcFigures;
}

const mb = (bytes: number): number => Math.round((bytes / 1_048_576) * 10) / 10;

/** Samples one process every `intervalMs` while it runs; any number of windows may be open at once. */
export class ProcSampler {
  private readonly timer: NodeJS.Timeout;
  private readonly open = new Set<{ peak: number; samples: number }>();
  private last: ProcReading;
  /** Highest RSS seen since the sampler started. */
  peakRssBytes = 0;

  constructor(
    readonly pid: number,
    intervalMs = 100,
  ) {
    this.last = readProc(pid);
    this.note(this.last);
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** Takes a reading now (also done on a timer); keeps the last one if the process has gone. */
  sample(): ProcReading {
    try {
      this.last = readProc(this.pid);
      this.note(this.last);
    } catch {
      // exited: the figures so far stand
    }
    return this.last;
  }

  private note(r: ProcReading): void {
    this.peakRssBytes = Math.max(this.peakRssBytes, r.rssBytes);
    for (const w of this.open) {
      w.peak = Math.max(w.peak, r.rssBytes);
      w.samples++;
    }
  }

  window(): ProcWindow {
    const start = this.sample();
    const t0 = performance.now();
    const w = { peak: start.rssBytes, samples: 1 };
    this.open.add(w);
    return {
      end: () => {
        const now = this.sample();
        this.open.delete(w);
        const seconds = (performance.now() - t0) / 1000;
        const cpuS = now.cpuS - start.cpuS;
        return {
          seconds,
          cpuS,
          cpuPctOfCore: seconds > 0 ? Math.round((cpuS / seconds) * 1000) / 10 : Number.NaN,
          peakRssMb: mb(w.peak),
          endRssMb: mb(now.rssBytes),
          samples: w.samples,
        };
      },
    };
  }

  get peakRssMb(): number {
    return mb(this.peakRssBytes);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * A process's memory three ways, from /proc/<pid>/smaps_rollup: RSS (every resident page it maps, shared library
 * pages counted in full in every process that maps them), PSS (each shared page divided by the number of processes
 * mapping it, so PSS adds up across processes to the memory really used) and private (pages only it maps: what
 * goes when it exits).
 */
export interface MemoryReading {
  rssBytes: number;
  pssBytes: number;
  privateBytes: number;
}

export function readMemory(pid: number): MemoryReading {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? Number.NaN) * 1024;
  return { rssBytes: kb('Rss'), pssBytes: kb('Pss'), privateBytes: kb('Private_Clean') + kb('Private_Dirty') };
}

/**
 * Where a process's memory is, from /proc/<pid>/smaps, in bytes: its heap (brk) and anonymous mappings (malloc's
 * large blocks, thread stacks, V8's heap in node), the private dirty pages of its shared libraries (data, bss and
 * pages written by relocation at load: each process has its own), and its PSS share of the libraries' clean pages
 * (code and read-only data, shared by every process that maps them).
 */
export interface MappingBreakdown {
  heapBytes: number;
  anonBytes: number;
  libPrivateDirtyBytes: number;
  libSharedPssBytes: number;
  libraries: number;
}

export function readMappings(pid: number): MappingBreakdown {
  const out: MappingBreakdown = { heapBytes: 0, anonBytes: 0, libPrivateDirtyBytes: 0, libSharedPssBytes: 0, libraries: 0 };
  const libs = new Set<string>();
  let kind: 'heap' | 'anon' | 'lib' | 'other' = 'other';
  let pss = 0;
  let privDirty = 0;
  const flush = (): void => {
    if (kind === 'heap') out.heapBytes += pss;
    else if (kind === 'anon') out.anonBytes += pss;
    else if (kind === 'lib') {
      out.libPrivateDirtyBytes += privDirty;
      out.libSharedPssBytes += pss - privDirty;
    }
    pss = privDirty = 0;
  };
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      flush();
      const name = head[1]!;
      if (name === '[heap]') kind = 'heap';
      else if (name === '') kind = 'anon';
      else if (/\.so(\.|$)/.test(name)) {
        kind = 'lib';
        libs.add(name);
      } else kind = 'other';
      continue;
    }
    const kv = /^(Pss|Private_Dirty):\s+(\d+) kB/.exec(line);
    if (kv?.[1] === 'Pss') pss = Number(kv[2]) * 1024;
    else if (kv) privDirty = Number(kv[2]) * 1024;
  }
  flush();
  out.libraries = libs.size;
  return out;
}
