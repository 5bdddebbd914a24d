import { pino, type DestinationStream, type Logger } from 'pino';
import type { ExchangeObserver, ExchangeRecord } from '../model/exchange.js';
import type { L4SessionObserver, L4SessionRecord } from '../model/l4-session.js';
import { accessLine } from './access-line.js';
import { LineBatch } from './line-batch.js';

/** Where access lines go and which share of the L7 requests is logged. */
export interface AccessLogSettings {
  /** 'stdout', or an absolute file path (opened for append). */
  to: string;
  /** 0 < sample <= 1: the share of ordinary L7 requests logged (errors always are). */
  sample: number;
}

/**
 * Writes to a pipe of at most PIPE_BUF bytes (4096 on Linux) are atomic: with --workers every
 * process writes the same stdout, so each write is whole lines of at most that size.
 */
const PIPE_BUF = 4096;
/** Lines are gathered up to this many characters per write to a file (a pipe: PIPE_BUF bytes). */
const FILE_BATCH = 32 * 1024;
/** A line waits at most about this long on a quiet gateway. */
const FLUSH_MS = 1000;
/**
 * What sonic-boom may hold while the disk or the pipe's reader lags; lines beyond it are
 * dropped (and counted in the process log) rather than grow the heap without bound.
 */
const MAX_BUFFERED = 16 * 1024 * 1024;
/** A close waits this long at most for the last write (a destination stuck on a full pipe). */
const CLOSE_MS = 5000;
/** Write failures (a full disk) are logged at most this often. */
const ERROR_LOG_MS = 10_000;
/** The fields a client chose freely, shortened when a line would not fit one atomic pipe write. */
const CLIENT_FIELDS = ['target', 'referer', 'user_agent', 'host'] as const;


function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A line longer than one atomic pipe write gets its client-chosen fields shortened (and
 * `truncated: true`) until it fits: interleaved halves of two processes' lines would parse as
 * neither. Lines are a few hundred bytes; this runs only for the rare giant URL or header.
 */
export function fitPipe(line: string): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: nearly every line is decided without counting.
  if (line.length * 3 <= PIPE_BUF || Buffer.byteLength(line) <= PIPE_BUF) return line;
  const rec = JSON.parse(line) as Record<string, unknown>;
  rec.truncated = true;
  for (let cap = 1024; cap >= 16; cap >>= 1) {
    for (const f of CLIENT_FIELDS) {
      const v = rec[f];
      if (typeof v === 'string' && v.length > cap) rec[f] = v.slice(0, cap);
    }
    const out = `${JSON.stringify(rec)}\n`;
    if (Buffer.byteLength(out) <= PIPE_BUF) return out;
  }
  for (const f of CLIENT_FIELDS) if (f in rec) rec[f] = null;
  return `${JSON.stringify(rec)}\n`;
}

/** The sampling rule: answers the gateway made, 5xx and answers that never reached the client are always logged. */
export function alwaysLogged(r: ExchangeRecord): boolean {
  return r.errorCode !== null || r.status >= 500 || r.status === 0;
}

/**
 * One process's access log: one JSON line per L7 request (`type: "access"`, built by
 * access-line.ts in pino's shape) and one pino line per L4
 * connection or UDP session (`type: "l4_access"`), written through an asynchronous
 * sonic-boom destination so that the hot path only formats a line and appends it to a
 * buffer. The type marker stands where pino puts its level, so that the lines are told from
 * the process log's when both go to stdout.
 */
export class AccessLog {
  /** The L7 observer: tee it with the metrics' (observe/tee.ts). */
  readonly l7: ExchangeObserver;
  /** The L4 planes' observer. */
  readonly l4: L4SessionObserver;
  private readonly dest: ReturnType<typeof pino.destination>;
  private readonly batch: LineBatch;
  private readonly timer: NodeJS.Timeout;
  private readonly onExit: () => void;
  private dropped = 0;
  private readonly stream: Logger;
  private closing: Promise<void> | null = null;
  private lastError = 0;

  constructor(private readonly settings: AccessLogSettings, log: Logger) {
    const file = settings.to !== 'stdout';
    // The batches are the buffering (minLength 0: each goes to fs.write at once, or joins the
    // queue while one is under way); to a pipe, sonic-boom's maxWrite keeps writes whole lines
    // within PIPE_BUF, as the batches are.
    this.dest = pino.destination(file
      ? { dest: settings.to, sync: false, append: true, minLength: 0, maxLength: MAX_BUFFERED }
      : { dest: 1, sync: false, minLength: 0, maxWrite: PIPE_BUF, maxLength: MAX_BUFFERED });
    this.batch = file ? new LineBatch(this.dest, FILE_BATCH, false) : new LineBatch(this.dest, PIPE_BUF, true);
    const complain = (fields: Record<string, unknown>, msg: string): void => {
      const now = Date.now();
      if (now - this.lastError < ERROR_LOG_MS) return;
      this.lastError = now;
      log.error({ ...fields, to: settings.to }, msg);
    };
    this.dest.on('error', (err: Error) => complain({ err }, 'access log: write failed'));
    this.dest.on('drop', () => { this.dropped++; complain({ dropped: this.dropped }, 'access log: the destination lags; lines dropped'); });
    this.timer = setInterval(() => this.batch.flush(), FLUSH_MS);
    this.timer.unref();
    // An exit without close() (the primary gone, process.exit): what is gathered goes out
    // synchronously, as pino does for the destination itself.
    this.onExit = () => {
      this.batch.flush();
      try { this.dest.flushSync(); } catch { /* not open yet, or failed: nothing to save */ }
    };
    process.once('exit', this.onExit);
    const make = (type: string): Logger => pino({
      base: { pid: process.pid },
      formatters: { level: () => ({ type }) },
      hooks: file ? {} : { streamWrite: fitPipe },
    }, this.batch as unknown as DestinationStream);
    this.stream = make('l4_access');
    const sample = settings.sample;
    const pid = process.pid;
    this.l7 = {
      started() {},
      ended: (r) => {
        if (this.closing !== null) return;
        // Decided before anything of the line is read or built.
        if (sample < 1 && Math.random() >= sample && !alwaysLogged(r)) return;
        const line = accessLine(r, pid);
        this.batch.write(file ? line : fitPipe(line));
      },
    };
    this.l4 = {
      ended: (r: L4SessionRecord) => {
        if (this.closing !== null) return;
        const udp = r.protocol === 'udp';
        this.stream.info({
          proxy: r.proxyId,
          listener: r.listenerId,
          protocol: r.protocol,
          client_addr: hostPort(r.clientAddress, r.clientPort),
          origin_addr: r.originHost === null ? null : hostPort(r.originHost, r.originPort ?? 0),
          start: r.startMs,
          duration_ms: r.endMs - r.startMs,
          bytes_in: r.bytesIn,
          bytes_out: r.bytesOut,
          datagrams_in: udp ? r.datagramsIn : null,
          datagrams_out: udp ? r.datagramsOut : null,
          end: r.end,
        });
      },
    };
  }

  /** Opens the file anew under its name (after logrotate moved it); stdout has nothing to reopen. */
  reopen(): void {
    if (this.settings.to === 'stdout' || this.closing !== null) return;
    this.dest.reopen();
  }

  /**
   * Writes out what is buffered and closes the file (stdout stays open). Lines of exchanges
   * that end after this are not written: close once the data planes have drained.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      clearInterval(this.timer);
      process.off('exit', this.onExit);
      this.batch.flush();
      const d = this.dest;
      setTimeout(resolve, CLOSE_MS).unref();
      d.once('close', () => resolve());
      // A destination that failed for good (its file gone) closes without the rest.
      d.once('error', () => { d.destroy(); resolve(); });
      d.end();
    });
    return this.closing;
  }
}
