/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time by area
 * (callbackd's own layers, each dependency, Node internals, GC, idle) and the top functions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, round } from './common.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by area, share of all samples (idle included), largest first. */
  areas: { area: string; ms: number; share: number }[];
  /** Self time by function outside idle/GC, largest first. */
  functions: { fn: string; where: string; ms: number; share: number }[];
}

/** Which part of the system a frame belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (functionName === '(idle)') return 'idle (waiting: I/O, fsync, timers)';
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8/native (program)';
  if (url === '') return 'native / builtins';
  const path = url.replace(/^file:\/\//, '');
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (nm) return `dep: ${nm[1]}`;
  if (path.startsWith('node:')) return 'node core';
  const src = /\/dist\/([^/]+)\//.exec(path);
  if (src) return `callbackd: src/${src[1]}`;
  if (path.includes('/dist/')) return 'callbackd: src (root)';
  return path.startsWith(ROOT) ? `other: ${path.slice(ROOT.length)}` : 'other';
}

/** `skipFirstMs`: leave out the process's first milliseconds (start-up, module loading). */
export function summarizeProfile(file: string, top = 15, skipFirstMs = 0): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let elapsedUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    const delta = profile.timeDeltas[i] ?? 0;
    elapsedUs += delta;
    if (elapsedUs < skipFirstMs * 1000) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  let total = 0;
  const areas = new Map<string, number>();
  const fns = new Map<string, { where: string; us: number }>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    if (area.startsWith('idle') || area === 'GC' || area.startsWith('V8/native')) continue;
    const short = url.replace(/^file:\/\//, '').replace(ROOT, '');
    const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
    const entry = fns.get(key) ?? { where: `${short}:${lineNumber + 1}`, us: 0 };
    entry.us += us;
    fns.set(key, entry);
  }
  const share = (us: number) => round((100 * us) / Math.max(1, total), 1);
  return {
    totalMs: round(total / 1000, 0),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, ms: round(us / 1000, 0), share: share(us) })),
    functions: [...fns.entries()]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([key, v]) => ({
        fn: key.split(' ')[0] ?? key,
        where: v.where,
        ms: round(v.us / 1000, 0),
        share: share(v.us),
      })),
  };
}

/** The newest .cpuprofile in a folder. */
export function latestProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  files.sort();
  const last = files.at(-1);
  return last ? join(dir, last) : undefined;
}
