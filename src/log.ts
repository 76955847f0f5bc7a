/**
 * Structured logs on stderr: one JSON object a line, or a readable line on a
 * terminal. Callers pass fields, never values, tokens or keys; a field whose
 * name looks secret is dropped here as a last line of defence.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | null | undefined>;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /token|secret|password|key$|value|authorization|cookie/i;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level: LogLevel;
  format: "json" | "pretty";
  write?: (line: string) => void;
  now?: () => Date;
}

export function createLogger(options: LoggerOptions, base: LogFields = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const now = options.now ?? (() => new Date());
  const emit = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (ORDER[level] < ORDER[options.level]) return;
    const clean: LogFields = {};
    for (const [k, v] of Object.entries({ ...base, ...fields })) {
      if (v !== undefined) clean[k] = SECRET_FIELD.test(k) ? "[redacted]" : v;
    }
    if (options.format === "json") {
      write(`${JSON.stringify({ time: now().toISOString(), level, msg: message, ...clean })}\n`);
    } else {
      const extra = Object.entries(clean)
        .map(([k, v]) => `${k}=${typeof v === "string" && /\s/.test(v) ? JSON.stringify(v) : v}`)
        .join(" ");
      write(`${now().toISOString()} ${level.padEnd(5)} ${message}${extra ? ` ${extra}` : ""}\n`);
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}
