import type { Action } from '../actions.js';
import { TencentError } from '../errors.js';

/**
 * GAAP's HTTP/HTTPS (L7) listener, domain and rule actions. sluice's GAAP is an L4
 * accelerator: these are known actions it refuses (UnsupportedOperation), so a client learns
 * why rather than reading InvalidAction. Their parameters are taken as sent and not checked:
 * whatever they hold, the answer is the same.
 */
const L7 = [
  'CreateHTTPListener', 'CreateHTTPSListener', 'DescribeHTTPListeners', 'DescribeHTTPSListeners',
  'ModifyHTTPListenerAttribute', 'ModifyHTTPSListenerAttribute', 'CreateDomain', 'ModifyDomain', 'DeleteDomain',
  'CreateRule', 'DeleteRule', 'ModifyRuleAttribute', 'DescribeRules', 'DescribeRulesByRuleIds', 'BindRuleRealServers',
  'DescribeRuleRealServers', 'CreateDomainErrorPageInfo', 'DeleteDomainErrorPageInfo', 'DescribeDomainErrorPageInfo',
  'DescribeDomainErrorPageInfoByIds', 'SetAuthentication',
] as const;

function refuse(name: string): Action {
  return {
    params: {},
    open: true,
    run() {
      return Promise.reject(new TencentError('UnsupportedOperation', `the action \`${name}\` is not supported: L7 (HTTP/HTTPS) listeners, domains and rules are not supported by this GAAP; use TCP or UDP listeners`));
    },
  };
}

export const L7_ACTIONS: Record<string, Action> = Object.fromEntries(L7.map((n) => [n, refuse(n)]));
