import type { RuntimeConfig } from '../runtime/config.js';
import type { HealthUpdate } from '../runtime/member-state.js';
import type { Outcome } from '../model/health.js';
import type { ListenerLimits } from './limits.js';

/** Messages between the primary and its proxy workers over the cluster IPC channel. */
export type ToWorker =
  | { type: 'config'; config: RuntimeConfig }
  | { type: 'health'; updates: HealthUpdate[] }
  | { type: 'shutdown'; graceMs: number };

export type FromWorker =
  /** The worker's message handler is in place (messages sent before that are lost). */
  | { type: 'ready' }
  | { type: 'listening'; port: number }
  | { type: 'applied'; revision: number }
  /** Passive health input for the primary's checker. */
  | { type: 'outcome'; key: string; outcome: Outcome; status: number };

/** A worker's start parameters (in its environment); `limits` is already this worker's share. */
export interface WorkerSetup { host: string; port: number; logLevel: string; limits: ListenerLimits }
