// The L4 control plane (connection groups, proxies, stream listeners, origins, bindings),
// one small module per concern under gaap/. Every call takes a Scope.
export * from './gaap/common.js';
export * from './gaap/regions.js';
export * from './gaap/proxies.js';
export * from './gaap/listeners.js';
export * from './gaap/origins.js';
export * from './gaap/statistics.js';
export { allocateAddress } from './gaap/addresses.js';
