/**
 * A region name as every face accepts it (Tencent `ap-guangzhou`, Huawei `cn-north-4`, the
 * operator's own): lower-case letters, digits and hyphens, starting with a letter or digit.
 * Projects are keyed by region, so a name is checked before anything is made for it.
 */
export const REGION_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;

export function isRegionName(name: string): boolean {
  return REGION_PATTERN.test(name);
}

/** The unique key of a tenant's project in a region: one project per (tenant, region). */
export function projectKey(tenantId: string, region: string): string {
  return `${tenantId}/${region}`;
}
