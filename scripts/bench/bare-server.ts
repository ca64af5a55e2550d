// The floor: a bare node:http server that reads the request body and answers a fixed JSON of
// the size of an introspection answer. Prints `BENCH_READY {json}` once listening.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const BODY = JSON.stringify({
  active: true, sub: '00000000-0000-4000-8000-000000000000', client_id: '00000000-0000-4000-8000-000000000001',
  exp: 1900000000, iat: 1800000000, iss: 'http://127.0.0.1', scope: 'openid profile email offline_access schedules:read',
  token_type: 'Bearer', company_guid: '00000000-0000-4000-8000-000000000002', auth_type: 'oauth',
});

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(BODY) });
    res.end(BODY);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`BENCH_READY ${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
