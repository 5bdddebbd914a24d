import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { listNodes } from '../../store/nodes.js';
import { MISSED_BEATS } from '../../model/node.js';
import { err, type NativeDeps } from './common.js';

const NodeOut = Type.Object({
  id: Type.String({ description: 'fresh each time the process starts' }),
  name: Type.String({ description: '--node-name, by default the host name' }),
  labels: Type.Record(Type.String(), Type.String(), { description: 'region: the access region the node serves (--region)' }),
  version: Type.String(),
  appliedRevision: Type.Integer({ description: 'the store revision its data plane runs' }),
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  startedAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.String({ format: 'date-time', description: 'by the store\'s clock' }),
  silentMs: Type.Integer({ description: 'milliseconds since the last heartbeat, by the store\'s clock' }),
  heartbeatMs: Type.Integer({ description: 'how often the node beats' }),
});

const NodeList = Type.Object({ items: Type.Array(NodeOut), total: Type.Integer() });

/** /v1/nodes: the gateway processes sharing this store, read from the registry (not a revisioned kind). */
export const nodeRoutes: FastifyPluginAsync<NativeDeps> = async (app, { store }) => {
  app.get('/v1/nodes', {
    schema: {
      tags: ['nodes'], response: { ...err, 200: NodeList },
      description: `Every node that beats to this store. A node is down once it has missed ${MISSED_BEATS} heartbeats; one that stopped cleanly is removed.`,
    },
  }, async () => listNodes(store));
};
