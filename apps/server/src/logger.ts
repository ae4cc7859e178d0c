/** The levels, quietest last. */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

/** Fields that must never reach a log line, whatever a caller passes. */
const SECRET_KEYS = /token|password|secret|authorization|cookie/i;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /**
   * A line written at every level, `silent` included (as level `info`): the
   * few an operator or a supervisor must always see, such as where the server listens.
   */
  always(msg: string, fields?: Record<string, unknown>): void;
}

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = SECRET_KEYS.test(key) ? '[redacted]' : value;
  }
  return out;
}

/**
 * A logger that writes one JSON object per line: `time`, `level`, `msg` and
 * the fields. Keys that look like secrets are redacted.
 */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stdout.write(l),
): Logger {
  const threshold = LEVELS[level];
  const log = (
    at: Exclude<LogLevel, 'silent'>,
    msg: string,
    fields: Record<string, unknown> = {},
    always = false,
  ) => {
    if (LEVELS[at] < threshold && !always) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: at, msg, ...redact(fields) })}\n`);
  };
  return {
    debug: (msg, fields) => log('debug', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
    always: (msg, fields) => log('info', msg, fields, true),
  };
}

/** A logger that keeps its lines, for tests that read what was logged. */
export function createMemoryLogger(level: LogLevel = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(
    createLogger(level, (line) => lines.push(line)),
    { lines },
  );
}
