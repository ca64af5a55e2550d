// Small HTTP pieces shared by the tests and the benchmark: the one way a client's Basic
// `Authorization` header is built, and a free loopback port.
import { createServer } from 'node:net';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** `Basic base64(id:secret)`, each part URL-encoded first (RFC 6749 §2.3.1). */
export function basicAuth(client: ClientCredentials): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`;
}

/** A TCP port nobody listens on right now (the kernel's pick on 127.0.0.1). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
