import type { ExchangeRecord } from '../model/exchange.js';

/** Milliseconds to the microsecond: enough for a log line, and shorter than a double's digits. */
const ms = (x: number): number => Math.round(x * 1000) / 1000;

const str = (s: string | null): string => (s === null ? 'null' : JSON.stringify(s));

/**
 * One L7 access line, as pino would write it for these fields (the type marker where pino
 * puts its level, then time and pid), built straight into one string: pino's generic
 * serialiser walked the object key by key at several µs a line, which on the lean engine was
 * more than the proxying. Every string goes through JSON.stringify: client-chosen ones may
 * hold anything.
 */
export function accessLine(r: ExchangeRecord, pid: number): string {
  return `{"type":"access","time":${Date.now()},"pid":${pid},"remote_addr":${str(r.clientIp)},"method":${str(r.method)},"target":${str(r.rawTarget)},`
    + `"http_version":${str(r.httpVersion)},"status":${r.status},"body_bytes_sent":${r.bytesOut},"referer":${str(r.referer)},"user_agent":${str(r.userAgent)},`
    + `"host":${str(r.host)},"request_bytes":${r.bytesIn},"request_ms":${ms(r.endMs - r.startMs)},"route":${str(r.routeId)},"upstream":${str(r.upstreamId)},`
    + `"member":${str(r.memberId)},"member_addr":${str(r.memberAddress)},"attempts":${r.attempts},"upstream_ms":${r.upstreamMs === null ? 'null' : ms(r.upstreamMs)},`
    + `"error":${str(r.errorCode)},"upgrade":${r.upgrade}}\n`;
}
