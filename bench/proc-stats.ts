import { readFileSync } from 'node:fs';

/** CPU time (ms, user + system) a process has used so far, from /proc (Linux; undefined elsewhere or when it is gone). */
export function processCpuMs(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // after the command name (which may hold spaces and parentheses): utime and stime are fields 12 and 13, in 10 ms ticks
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
