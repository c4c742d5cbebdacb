/**
 * The anchor of bench/listener: a bare node:http server answering a constant, with the listener's socket
 * settings (keep-alive 150 s, no request cap, no idle timeouts, Nagle off, no Date header) and the same number
 * of node:cluster processes. Prints {"port": N} once every process listens; stops on SIGTERM.
 *
 *   tsx bench/bare-http-server.ts <workers>
 */
import cluster from 'node:cluster';
import http from 'node:http';

const workers = Number(process.argv[2] ?? 2);
const BODY = Buffer.from('4412001\n4412004\n');
const ONE = Buffer.from('1');

if (cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (m: { port: number }) => {
      if (++listening === workers) process.stdout.write(JSON.stringify({ port: m.port }) + '\n');
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else {
  const server = http.createServer({ keepAlive: true, noDelay: true, requestTimeout: 0, headersTimeout: 5000 }, (req, res) => {
    const body = req.url === '/ready' ? ONE : BODY;
    res.sendDate = false;
    res.writeHead(200, ['Content-Type', 'text/plain', 'Content-Length', String(body.length)]);
    res.end(body);
  });
  server.keepAliveTimeout = 150_000;
  server.maxRequestsPerSocket = 0;
  server.timeout = 0;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
}
