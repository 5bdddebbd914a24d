import { memberPort } from './defaults.js';
import { normaliseMemberHost } from './host.js';
import type { Member, MemberGroup, Upstream } from './types.js';

// What a member is, whatever face wrote it: where it is reached (its identity) and how much
// traffic it gets. Validation, upserts, the faces' read-outs and the data plane all ask here.

/**
 * The endpoint a member stands for: host (case-insensitive, IPv6 without brackets) and the
 * port it is really reached on. `h:0` and `h:80` on an http upstream are one endpoint.
 */
export function memberEndpoint(u: Pick<Upstream, 'port' | 'scheme'>, host: string, port: number | undefined): string {
  return `${normaliseMemberHost(host).toLowerCase()}:${memberPort(u, { port: port ?? 0 })}`;
}

/** A member's own weight, else its group's, else 1. */
export function effectiveWeight(u: { memberGroups: readonly Pick<MemberGroup, 'id' | 'weight'>[] }, m: Pick<Member, 'weight' | 'groupId'>): number {
  if (m.weight !== null) return m.weight;
  if (m.groupId === null) return 1;
  return u.memberGroups.find((g) => g.id === m.groupId)?.weight ?? 1;
}

/**
 * Setting a group's weight sets its members' (Huawei APIG's rule, applied by every face):
 * a group without a weight leaves its members' own.
 */
export function applyGroupWeight(u: Pick<Upstream, 'members'>, group: Pick<MemberGroup, 'id' | 'weight'>): void {
  if (group.weight === null) return;
  for (const m of u.members) if (m.groupId === group.id) m.weight = group.weight;
}
