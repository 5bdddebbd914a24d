// The bare Node L4 baseline: net.createServer + socket.pipe() both ways, round robin per
// connection over the origins. No budget, no health, no retry.
// Usage: net-proxy.mjs LISTEN_PORT=ORIGIN_PORT,ORIGIN_PORT,... [more services]
import { connect, createServer } from 'node:net';

for (const service of process.argv.slice(2)) {
  const [listen, origins] = service.split('=');
  const ports = origins.split(',').map(Number);
  let next = 0;
  // allowHalfOpen: a client's FIN reaches the origin and the answer still comes back.
  createServer({ allowHalfOpen: true }, (client) => {
    const origin = connect({ port: ports[next++ % ports.length], host: '127.0.0.1', allowHalfOpen: true });
    client.pipe(origin);
    origin.pipe(client);
    client.on('error', () => origin.destroy());
    origin.on('error', () => client.destroy());
    client.on('close', () => origin.destroy());
    origin.on('close', () => client.destroy());
  }).listen(Number(listen), '127.0.0.1');
}
