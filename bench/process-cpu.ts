/**
 * CPU time of a process and all its descendants (Linux /proc), so that a bench can report a server's CPU per
 * request: a figure that other load on a shared box moves far less than throughput.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** User + system CPU seconds of `pid` and its live descendants (threads included), or undefined without /proc. */
export function processTreeCpuSeconds(pid: number): number | undefined {
  let ticks = 0;
  let read = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const p = pending.pop()!;
    try {
      // Fields after the command name, which may itself hold spaces and parentheses: utime and stime are the
      // 14th and 15th of the whole line.
      const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      read++;
      const children = readFileSync(`/proc/${p}/task/${p}/children`, 'latin1').trim();
      if (children !== '') pending.push(...children.split(' ').map(Number));
    } catch {
      // A process that exited meanwhile: its time is no longer the server's.
    }
  }
  return read === 0 ? undefined : ticks / TICKS_PER_SECOND;
}
