// fastify + @fastify/reply-from with a list of bases (undici BalancedPool, round robin).
import Fastify from 'fastify';
import replyFrom from '@fastify/reply-from';

const [port, ...backends] = process.argv.slice(2).map(Number);
const app = Fastify({ logger: false });
await app.register(replyFrom, { base: backends.map((p) => `http://127.0.0.1:${p}`), undici: { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 } });
app.all('/*', (req, reply) => reply.from(req.url));
await app.listen({ port, host: '127.0.0.1' });
process.send?.('ready');
// Stopped by the bench: exit normally so that --cpu-prof (bench/profile.ts) writes its profile.
process.on('SIGTERM', () => process.exit(0));
