import type { Action } from '../actions.js';

/**
 * Tencent GAAP (2018-05-29): connection groups, proxies, listeners and origins. The service
 * is registered so that its clients reach it; its actions arrive with the GAAP control plane.
 */
export const GAAP_ACTIONS: ReadonlyMap<string, Action> = new Map();
