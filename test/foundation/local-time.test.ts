import { describe, expect, it } from 'vitest';
import { localTime } from '../../gateway/core/school-calendar.js';

/** The reference: Intl on every call, as localTime did before it cached offsets. */
function reference(epochMs: number, timeZone: string): { date: string; time: string } {
  const p: Record<string, string> = {};
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  });
  for (const part of f.formatToParts(new Date(epochMs))) p[part.type] = part.value;
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}:${p.second}` };
}

describe('school-local time', () => {
  // Zones with daylight saving (New York, Berlin), a half-hour shift (Lord Howe), an odd offset (Kathmandu),
  // and the schools' own zone.
  const zones = ['Asia/Shanghai', 'America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'Asia/Kathmandu'];
  // Around the 2026 transitions: the US in March and November, the EU in March and October, Lord Howe in April and October.
  const transitions = ['2026-03-08T07:00:00Z', '2026-11-01T06:00:00Z', '2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z',
    '2026-04-04T15:00:00Z', '2026-10-03T15:30:00Z'].map((s) => Date.parse(s));

  it('agrees with the time zone database on every minute around each transition', () => {
    for (const zone of zones) {
      for (const t of transitions) {
        for (let at = t - 3 * 3_600_000; at <= t + 3 * 3_600_000; at += 59_000) {
          const got = localTime(at, zone);
          expect({ date: got.date, time: got.time }, `${zone} ${new Date(at).toISOString()}`).toEqual(reference(at, zone));
        }
      }
    }
  });

  it('agrees at random instants over ten years, seconds and local midnight included', () => {
    let seed = 7;
    const next = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const from = Date.parse('2020-01-01T00:00:00Z');
    for (let i = 0; i < 5_000; i++) {
      const at = from + Math.floor(next() * 10 * 365 * 86_400_000);
      const zone = zones[i % zones.length]!;
      const got = localTime(at, zone);
      const want = reference(at, zone);
      expect({ date: got.date, time: got.time }).toEqual(want);
      const [h, m, s] = want.time.split(':').map(Number);
      expect(got.secondOfDay).toBe(h! * 3600 + m! * 60 + s!);
    }
    expect(localTime(Date.parse('2026-09-01T16:00:00Z'), 'Asia/Shanghai')).toEqual({ date: '2026-09-02', time: '00:00:00', secondOfDay: 0 });
  });
});
