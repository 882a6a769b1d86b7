/** The critical-alert tone, made with WebAudio so there is no sound file to download. */
let ctx: AudioContext | null = null;
const KEY = 'campus.sound';

export function soundEnabled(): boolean {
  return localStorage.getItem(KEY) !== 'off';
}

export function setSoundEnabled(on: boolean): void {
  localStorage.setItem(KEY, on ? 'on' : 'off');
  if (on) unlock();
}

/** Browsers allow audio only after a user gesture; call from a click to make later alarms audible. */
export function unlock(): void {
  try {
    ctx ??= new AudioContext();
    if (ctx.state === 'suspended') void ctx.resume();
  } catch {
    ctx = null; // no WebAudio (very old tablet): alarms stay visual
  }
}

/** Three short two-tone beeps, loud enough to hear across a guard room. */
export function playAlarm(): void {
  if (!soundEnabled()) return;
  unlock();
  if (!ctx) return;
  const start = ctx.currentTime + 0.05;
  for (let i = 0; i < 3; i++) {
    for (const [j, freq] of [880, 660].entries()) {
      const t0 = start + i * 0.5 + j * 0.2;
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'square';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t0);
      gain.gain.exponentialRampToValueAtTime(0.25, t0 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.18);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0);
      osc.stop(t0 + 0.2);
    }
  }
}
