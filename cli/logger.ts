// Logs go to stderr so stdout stays clean for results (--json): pino JSON lines for machines, or short human lines
// when stderr is a terminal.
import type { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** The pino levels accepted by --log-level. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A logger writing to `stream`: JSON lines, or `time LEVEL message key=value` when the stream is a terminal. */
export function createLogger(level: LogLevel, stream: Writable & { isTTY?: boolean }): Logger {
  if (!stream.isTTY) return pino({ level, base: { pid: process.pid } }, stream);
  return pino({ level, base: undefined }, { write: (line: string) => stream.write(humanLine(line)) });
}

/** Fields every line of a run, stage or partner carries in JSON; on a terminal shown only when the message lacks them. */
const CONTEXT_FIELDS = new Set(['runId', 'workflow', 'period', 'stage', 'partner']);

/** One pino JSON line rewritten for a person reading a terminal. */
function humanLine(line: string): string {
  const { time, level, msg, err, ...fields } = JSON.parse(line) as Record<string, unknown>;
  const clock = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const text = String(msg ?? '');
  const extra = Object.entries(fields)
    // Context fields (run id, workflow, stage, partner) the message already names would only make the line long.
    .filter(([key, value]) => !(CONTEXT_FIELDS.has(key) && typeof value === 'string' && text.includes(value)))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  const stack = typeof err === 'object' && err !== null && 'stack' in err ? `\n${String(err.stack)}` : '';
  return `${clock} ${(LEVEL_NAMES[Number(level)] ?? String(level)).padEnd(5)} ${text}${extra ? ` ${extra}` : ''}${stack}\n`;
}
