import type { L4Listener, ListenerContext } from './listener.js';
import type { ListenerPlan } from './plan.js';

/** Placeholder until the UDP listener lands: reports that the port is not served. */
export class UdpListener implements L4Listener {
  constructor(public plan: ListenerPlan, _ctx: ListenerContext) {}
  get open(): number { return 0; }
  start(): Promise<void> { return Promise.reject(new Error('UDP listeners are not served by this build')); }
  update(plan: ListenerPlan): void { this.plan = plan; }
  setAccepting(on: boolean): Promise<void> { return on ? this.start() : Promise.resolve(); }
  drain(): Promise<void> { return Promise.resolve(); }
}
