import { listenerIdleSeconds, listenerProxyProtocol, proxyByteRate, proxyConnectionCap, type Proxy, type StreamListener } from '../../model/gaap.js';

// The L4 objects as the operator API shows them: each operator setting as stored (null: not
// set, the default applies) beside the value the data plane actually uses, so an operator
// can tell "left at the default" from "set to what the default happens to be".

export function proxyView(p: Proxy) {
  return {
    ...p, connectionCap: p.connectionCap ?? null, byteRate: p.byteRate ?? null,
    budget: { byteRate: proxyByteRate(p), connectionCap: proxyConnectionCap(p) },
  };
}

export function listenerView(l: StreamListener) {
  return {
    ...l, proxyProtocolVersion: l.proxyProtocolVersion ?? null, idleTimeout: l.idleTimeout ?? null,
    effective: { proxyProtocolVersion: listenerProxyProtocol(l), idleTimeout: listenerIdleSeconds(l) },
  };
}
