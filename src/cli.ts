#!/usr/bin/env node
import { closeSync, openSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { createLogger } from './logger.js';
import { startSluice, type HostPort } from './app.js';
import { isRegionName } from './model/region.js';
import { isNodeName, parseL7Scope, type L7Scope } from './model/node.js';
import { hostname } from 'node:os';
import { printNodes } from './cli-nodes.js';
import { messageOf } from './model/errors.js';
import type { AccessLogSettings } from './observe/access-log.js';

const HELP = `sluice: a self-hosted API gateway managed through the Tencent Cloud and Huawei Cloud gateway APIs

Usage:
  sluice start [options]    run the gateway (admin API + proxy)
  sluice nodes [options]    list the nodes sharing the gateway's store, up or down
  sluice --help             this text

Options for start:
  --data-dir DIR            where the embedded SQLite store lives (default ./data)
  --admin-listen HOST:PORT  admin API listener: operator API and cloud dialects (default 127.0.0.1:9180)
  --proxy-listen HOST:PORT  proxy listener for client traffic (default 0.0.0.0:9080)
  --metrics-listen HOST:PORT
                            serve GET /metrics (Prometheus text format) on its own listener,
                            without the operator token (default: off; the admin listener
                            always serves GET /metrics with the token)
  --store URL               postgres://user@host:port/db to use PostgreSQL (default: SQLite in --data-dir)
  --store-timeout MS        deadline of one store call: a query, a lock wait, a whole write
                            transaction (PostgreSQL statement_timeout, lock_timeout and a client
                            deadline; SQLite busy_timeout). Default 5000
  --store-connect-timeout MS
                            deadline to connect to PostgreSQL or get a pooled connection
                            (default 3000)
  --region NAME             region used when a request names none, GAAP's one region until
                            the operator stores a catalogue, and the access region whose
                            GAAP proxies this node serves (default "default")
  --l7-regions LIST         the regions whose L7 routes this node serves: "all" (default) or
                            region names separated by commas (a route's region is its
                            upstream's instance's); other routes answer 404 here
  --node-name NAME          the node's name in the registry (sluice nodes, GET /v1/nodes):
                            letters, digits, dot, underscore, hyphen (default: the host name)
  --log-level LEVEL         trace, debug, info, warn, error (default info)
  --access-log off|stdout|FILE
                            one JSON line per L7 request and per L4 connection or UDP session
                            (default off). FILE is opened for append; SIGHUP reopens it (after
                            logrotate moved it). The lines say "type":"access" (L7) or
                            "type":"l4_access", which tells them from the process log on stdout
  --access-log-sample R     the share of L7 requests logged, 0 < R <= 1 (default 1); answers the
                            gateway made, 5xx and answers that never reached the client are
                            always logged; L4 lines are never sampled
  --workers N               proxy worker processes sharing the proxy listener (default 1: serve
                            in the main process); the admin API and the store stay in the main one
  --max-upstreams N         upstreams (VPC channels) per tenant and instance (default 30; Huawei
                            APIG.3109 / Tencent LimitExceeded beyond it)
  --max-members N           members per upstream (default 1000)
  --max-proxies-per-group N     GAAP proxies in one connection group (default 20)
  --max-proxies-per-tenant N    GAAP proxies per tenant (default 50)
  --max-listeners-per-proxy N   GAAP TCP/UDP listeners a proxy carries, its group's included (default 50)
  --max-origins-per-listener N  GAAP real servers bound to one listener (default 100)
  --max-ports-per-call N        GAAP listener ports in one CreateTCPListeners/CreateUDPListeners call (default 20)
  --tencent-api-rate N      Tencent API 3.0 requests per second per tenant and action before
                            RequestLimitExceeded (default 20, Tencent's documented limit)
  --huawei-api-rate N       Huawei APIG requests per second per tenant and operation before
                            APIG.9008 (default 100)
  --admin-tls-cert F        serve the admin API over HTTPS with this PEM certificate (chain)
  --admin-tls-key F         and its PEM private key; both or neither (default: plain HTTP,
                            so keep the admin listener on loopback or a private network)
  --upstream-client-cert F  PEM certificate the gateway presents to members for two-way TLS
  --upstream-client-key F   its PEM private key; both or neither. Used by HTTPS health checks
                            with client TLS on (Huawei enable_client_ssl)
  --header-timeout SECONDS  a client must send a whole request head within this, on a new or
                            a kept-alive connection, else 408 and the connection is closed
                            (default 60)
  --request-timeout SECONDS ...and the whole request, body included (default 300; 0 = none);
                            at least --header-timeout
  --send-timeout SECONDS    a client that has not taken what was written to it within this is
                            cut, with its member connection (default 60; 0 = none)
  --max-connections N       open client connections on the proxy listener; one more is closed
                            at accept (default 10000; 0 = no limit). With --workers each worker
                            takes ceil(N / workers)
  --max-connections-per-ip N
                            open client connections per client address; one more is closed at
                            accept (default 0 = no limit); split over workers the same way
  --shutdown-grace SECONDS  how long a stop waits for requests in flight (default 10)
  --l4-drain-timeout SECONDS
                            how long DeleteListeners and DestroyProxies let a GAAP listener's
                            open TCP connections and UDP sessions drain before the rest are
                            reset, spread over time (default 30; 0 resets at once; at most 3600)

Options for nodes:
  --admin-url URL           the admin API to ask (default http://127.0.0.1:9180)
  --json                    print the API's JSON instead of a table

Environment:
  SLUICE_ADMIN_TOKEN        operator token to accept (at least 16 characters). Without it, the first
                            start generates one, stores only its hash and prints it once.
                            sluice nodes sends it.
  SLUICE_HEARTBEAT_MS       for tests: how often the node beats to the registry (default 5000;
                            a node is shown down after 3 missed beats)
  SLUICE_STATS_FLUSH_MS     for tests: how often the L4 counters are folded into GAAP statistics
                            minutes and published (default 60000, on the minute)

When the store does not answer within its deadline, the admin API answers at once: operator
API 503 store_unavailable, Tencent ServiceUnavailable, Huawei APIG.9999; the proxy keeps
serving the last configuration it loaded, and picks up changes when the store is back.

Signals: SIGINT and SIGTERM stop accepting connections and drain the proxy: idle keep-alive
connections close at once, every answer from then on says "Connection: close" and closes its
connection, and sluice exits as soon as the last request in flight is done (after
--shutdown-grace, whatever is left, open WebSockets included, is cut); then the access log is
written out and the store closes. SIGHUP reopens an --access-log FILE (without one, SIGHUP
stops sluice as it stops any program).
`;

function hostPort(flag: string, v: string): HostPort {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new Error(`${flag} must be HOST:PORT, got "${v}"`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

function intIn(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new Error(`${flag} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}

/** --access-log and --access-log-sample: null when off; a FILE must open for append now, so a typo stops the start. */
function accessLog(to: string, sample: string): AccessLogSettings | null {
  if (!/^(?:0?\.\d+|[01](?:\.\d*)?)$/.test(sample) || !(Number(sample) > 0 && Number(sample) <= 1)) {
    throw new Error(`--access-log-sample must be a number above 0 and at most 1, got "${sample}"`);
  }
  if (to === '') throw new Error('--access-log must be off, stdout or a file name, got ""');
  if (to === 'off') return null;
  if (to === 'stdout') return { to, sample: Number(sample) };
  const file = resolve(to);
  try { closeSync(openSync(file, 'a')); } catch (err) { throw new Error(`--access-log: cannot open ${file} for append (${messageOf(err)})`, { cause: err }); }
  return { to: file, sample: Number(sample) };
}

function positiveInt(flag: string, v: string): number {
  return intIn(flag, v, 1, 1_000_000);
}

/** A certificate and key given by two flags: both or neither, each a readable PEM file. */
function pemPair(certFlag: string, certFile: string | undefined, keyFlag: string, keyFile: string | undefined): { cert: string; key: string } | undefined {
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error(`${certFlag} and ${keyFlag} go together`);
  if (certFile === undefined || keyFile === undefined) return undefined;
  const read = (flag: string, f: string) => {
    try { return readFileSync(f, 'utf8'); } catch (err) { throw new Error(`${flag}: cannot read ${f} (${(err as Error).message})`, { cause: err }); }
  };
  return { cert: read(certFlag, certFile), key: read(keyFlag, keyFile) };
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      'data-dir': { type: 'string', default: './data' },
      'admin-listen': { type: 'string', default: '127.0.0.1:9180' },
      'proxy-listen': { type: 'string', default: '0.0.0.0:9080' },
      'metrics-listen': { type: 'string' },
      store: { type: 'string' },
      'store-timeout': { type: 'string', default: '5000' },
      'store-connect-timeout': { type: 'string', default: '3000' },
      region: { type: 'string', default: 'default' },
      'log-level': { type: 'string', default: 'info' },
      'access-log': { type: 'string', default: 'off' },
      'access-log-sample': { type: 'string', default: '1' },
      workers: { type: 'string', default: '1' },
      'max-upstreams': { type: 'string', default: '30' },
      'max-members': { type: 'string', default: '1000' },
      'max-proxies-per-group': { type: 'string', default: '20' },
      'max-proxies-per-tenant': { type: 'string', default: '50' },
      'max-listeners-per-proxy': { type: 'string', default: '50' },
      'max-origins-per-listener': { type: 'string', default: '100' },
      'max-ports-per-call': { type: 'string', default: '20' },
      'huawei-api-rate': { type: 'string', default: '100' },
      'tencent-api-rate': { type: 'string', default: '20' },
      'upstream-client-cert': { type: 'string' },
      'admin-tls-cert': { type: 'string' },
      'admin-tls-key': { type: 'string' },
      'upstream-client-key': { type: 'string' },
      'header-timeout': { type: 'string', default: '60' },
      'request-timeout': { type: 'string', default: '300' },
      'send-timeout': { type: 'string', default: '60' },
      'max-connections': { type: 'string', default: '10000' },
      'max-connections-per-ip': { type: 'string', default: '0' },
      'shutdown-grace': { type: 'string', default: '10' },
      'l4-drain-timeout': { type: 'string', default: '30' },
      'node-name': { type: 'string' },
      'l7-regions': { type: 'string', default: 'all' },
      'admin-url': { type: 'string', default: 'http://127.0.0.1:9180' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  if (positionals[0] === 'nodes' && positionals.length === 1) {
    return printNodes({ adminUrl: values['admin-url']!, token: process.env.SLUICE_ADMIN_TOKEN, json: values.json! }, process.stdout);
  }
  if (positionals[0] !== 'start' || positionals.length > 1) {
    process.stderr.write(`unknown command: ${positionals.join(' ')}\n\n${HELP}`);
    return 2;
  }
  if (!isRegionName(values.region!)) throw new Error(`--region must be lower-case letters, digits and hyphens (at most 64), got "${values.region}"`);
  const nodeName = values['node-name'] ?? hostname();
  if (!isNodeName(nodeName)) throw new Error(`--node-name must be 1 to 253 letters, digits, dots, underscores and hyphens, starting with a letter or digit, got "${nodeName}"${values['node-name'] === undefined ? ' (the host name)' : ''}`);
  let l7Regions: L7Scope;
  try { l7Regions = parseL7Scope(values['l7-regions']!, isRegionName); } catch (err) { throw new Error(`--l7-regions: ${messageOf(err)}`, { cause: err }); }
  const heartbeatMs = process.env.SLUICE_HEARTBEAT_MS === undefined ? undefined : intIn('SLUICE_HEARTBEAT_MS', process.env.SLUICE_HEARTBEAT_MS, 50, 600_000);
  const workers = intIn('--workers', values.workers!, 1, 256);
  const limits = {
    maxUpstreamsPerInstance: positiveInt('--max-upstreams', values['max-upstreams']!),
    maxMembersPerUpstream: positiveInt('--max-members', values['max-members']!),
  };
  const upstreamClientCert = pemPair('--upstream-client-cert', values['upstream-client-cert'], '--upstream-client-key', values['upstream-client-key']);
  const adminTls = pemPair('--admin-tls-cert', values['admin-tls-cert'], '--admin-tls-key', values['admin-tls-key']);
  const headerTimeout = intIn('--header-timeout', values['header-timeout']!, 1, 3600);
  const requestTimeout = intIn('--request-timeout', values['request-timeout']!, 0, 86_400);
  // Node refuses a header deadline past the request deadline; say which flag to change.
  if (requestTimeout > 0 && requestTimeout < headerTimeout) throw new Error(`--request-timeout (${requestTimeout}) must be 0 or at least --header-timeout (${headerTimeout})`);
  const listenerLimits = {
    headerTimeoutMs: headerTimeout * 1000,
    requestTimeoutMs: requestTimeout * 1000,
    sendTimeoutMs: intIn('--send-timeout', values['send-timeout']!, 0, 86_400) * 1000,
    maxConnections: intIn('--max-connections', values['max-connections']!, 0, 1_000_000),
    maxConnectionsPerIp: intIn('--max-connections-per-ip', values['max-connections-per-ip']!, 0, 1_000_000),
  };
  const shutdownGraceMs = intIn('--shutdown-grace', values['shutdown-grace']!, 0, 3600) * 1000;
  const l4DrainMs = intIn('--l4-drain-timeout', values['l4-drain-timeout']!, 0, 3600) * 1000;
  const access = accessLog(values['access-log']!, values['access-log-sample']!);
  const logger = createLogger(values['log-level']);
  const sluice = await startSluice({
    dataDir: resolve(values['data-dir']!),
    storeUrl: values.store,
    storeTimeouts: {
      timeoutMs: intIn('--store-timeout', values['store-timeout']!, 10, 600_000),
      connectTimeoutMs: intIn('--store-connect-timeout', values['store-connect-timeout']!, 10, 600_000),
    },
    admin: hostPort('--admin-listen', values['admin-listen']!),
    proxy: hostPort('--proxy-listen', values['proxy-listen']!),
    metricsListen: values['metrics-listen'] === undefined ? undefined : hostPort('--metrics-listen', values['metrics-listen']),
    logger,
    adminToken: process.env.SLUICE_ADMIN_TOKEN,
    defaultRegion: values.region,
    nodeName,
    l7Regions,
    heartbeatMs,
    workers,
    listenerLimits,
    shutdownGraceMs,
    l4DrainMs,
    logLevel: values['log-level'],
    accessLog: access,
    limits,
    gaapLimits: {
      proxiesPerGroup: positiveInt('--max-proxies-per-group', values['max-proxies-per-group']!),
      proxiesPerTenant: positiveInt('--max-proxies-per-tenant', values['max-proxies-per-tenant']!),
      listenersPerProxy: positiveInt('--max-listeners-per-proxy', values['max-listeners-per-proxy']!),
      originsPerListener: positiveInt('--max-origins-per-listener', values['max-origins-per-listener']!),
      portsPerCall: positiveInt('--max-ports-per-call', values['max-ports-per-call']!),
    },
    upstreamClientCert,
    adminTls,
    huaweiRatePerSecond: positiveInt('--huawei-api-rate', values['huawei-api-rate']!),
    tencentRatePerSecond: positiveInt('--tencent-api-rate', values['tencent-api-rate']!),
  });
  if (sluice.generatedAdminToken) {
    // Printed once, outside the JSON log, so it is not shipped to a log store by accident.
    process.stderr.write(`\nOperator token (shown once, store it now): ${sluice.generatedAdminToken}\n\n`);
  }
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      void sluice.close().then(done, (err) => { logger.error({ err }, 'error during shutdown'); done(); });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // logrotate's postrotate: the next lines go to a new file under the old name.
    if (access !== null && access.to !== 'stdout') process.on('SIGHUP', () => sluice.reopenLogs());
  });
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`sluice: ${messageOf(err)}\n`);
  // A start that failed half-way may leave a store pool or a listener open: they must not
  // keep a process that will never serve alive (a supervisor restarts it instead).
  process.exit(1);
});
