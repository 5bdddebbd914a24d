import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; secrets are redacted wherever they would appear. */
export function createLogger(level = 'info'): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: { paths: ['secretKey', '*.secretKey', 'token', '*.token', 'req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
  });
}
