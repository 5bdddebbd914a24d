import { messageOf } from './errors.js';

/** Where an outage is told (a pino logger fits, as does the store's StoreLog). */
export interface OutageLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** What a loop that keeps trying tells of each try's outcome. */
export interface OutageLog {
  /** A try failed: logged at warn, with the reason, only if the one before did not fail. */
  failed(err: unknown): void;
  /** A try worked: logged at info only if the one before failed. */
  ok(): void;
  /** The last try failed (loops retry sooner while it did). */
  readonly failing: boolean;
}

/**
 * The rule for loops that retry a remote call (heartbeats, publishers, readers of the store):
 * one line when an outage begins and one when it ends, however many tries fail between, so
 * that a store down for an hour is two lines, not one per beat.
 *
 * `context` is read at each line, for fields that are known only later (a node's id).
 */
export function outageLog(log: OutageLogger, messages: { failed: string; back: string }, context: () => object = () => ({})): OutageLog {
  let failing = false;
  return {
    failed(err) {
      if (failing) return;
      failing = true;
      log.warn({ ...context(), reason: messageOf(err) }, messages.failed);
    },
    ok() {
      if (!failing) return;
      failing = false;
      log.info(context(), messages.back);
    },
    get failing() { return failing; },
  };
}
