import { ACTIONS as APIGATEWAY_ACTIONS, type Action } from './actions.js';
import { TencentError } from './errors.js';
import { GAAP_ACTIONS } from './gaap/actions.js';

/** One Tencent Cloud product behind API 3.0: its name, its API version and its actions. */
export interface Service {
  name: string;
  version: string;
  actions: ReadonlyMap<string, Action>;
}

export const SERVICES: readonly Service[] = [
  { name: 'apigateway', version: '2018-08-08', actions: new Map(Object.entries(APIGATEWAY_ACTIONS)) },
  { name: 'gaap', version: '2018-05-29', actions: GAAP_ACTIONS },
];

const BY_NAME = new Map(SERVICES.map((s) => [s.name, s]));
const BY_VERSION = new Map(SERVICES.map((s) => [s.version, s]));

/**
 * The service a request is for. Tencent routes by endpoint host (`gaap.tencentcloudapi.com`)
 * and the SDK signs the host's first label as the service; on one local endpoint that label
 * is an address (`127`), so the API version, unique per service, decides, and a signed
 * service name that is one of ours must agree with it.
 */
export function serviceFor(signedService: string, version: string | string[] | undefined): Service {
  const v = typeof version === 'string' ? version : '';
  const named = BY_NAME.get(signedService);
  if (named && named.version !== v) {
    throw new TencentError('NoSuchVersion', `the API version \`X-TC-Version\` "${v}" does not exist for ${named.name}; use ${named.version}`);
  }
  const service = named ?? BY_VERSION.get(v);
  if (!service) {
    throw new TencentError('NoSuchVersion', `the API version \`X-TC-Version\` "${v.slice(0, 32)}" does not exist; use ${SERVICES.map((s) => `${s.version} (${s.name})`).join(' or ')}`);
  }
  return service;
}

/** The action a request names, looked up in a Map: no name reaches an object's prototype. */
export function actionOf(service: Service, name: string): Action {
  const action = service.actions.get(name);
  if (!action) throw new TencentError('InvalidAction', `the action \`${name.slice(0, 64)}\` does not exist in ${service.name} (${service.version})`);
  return action;
}
