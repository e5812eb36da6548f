// Run by tests/engines/wrangler.rs inside wrangler's network namespace: accepts connections on
// the Unix socket SOCKET (a file, so reachable from the test outside the namespace) and relays
// each, both ways, to 127.0.0.1:PORT, where `wrangler dev` listens inside the namespace.
import net from 'node:net';

const [socket, port] = process.argv.slice(2);
net
  .createServer((client) => {
    const server = net.connect(Number(port), '127.0.0.1');
    client.pipe(server);
    server.pipe(client);
    client.on('error', () => server.destroy());
    server.on('error', () => client.destroy());
  })
  .listen(socket);
