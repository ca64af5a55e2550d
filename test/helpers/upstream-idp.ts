// The SaaS's own identity provider, for tests of "sign-in through the upstream": stock
// oidc-provider in its own process (`node --import tsx test/helpers/upstream-idp.ts`), with one
// confidential client — grantledger — whose redirect and back-channel logout URIs come from the
// environment (UPSTREAM_PORT, RP_REDIRECT_URI, RP_BACKCHANNEL_URI, RP_CLIENT_ID, RP_CLIENT_SECRET).
// Its people are set by the test through `POST /test/accounts` (JSON: { [sub]: claims }); the
// login page takes a `sub` and signs that person in (consent is implied: the SaaS trusts its own
// grantledger). `POST /test/flags` turns on hostile behaviours: `dropNonce` (an ID token without
// `nonce`, re-signed with the provider's own key). Prints `ready <url>` when it listens.
import { createServer, type IncomingMessage } from 'node:http';
import { generateKeyPair, exportJWK, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import Provider, { type ClaimsParameterMember, type KoaContextWithOIDC } from 'oidc-provider';

const port = Number(process.env.UPSTREAM_PORT);
// `localhost`, not 127.0.0.1: a browser keeps cookies per host, not per port, and both servers
// set oidc-provider's cookies (`_session`, `_interaction`).
const issuer = `http://localhost:${port}`;

type Claims = Record<string, unknown> & { sub: string };
const accounts = new Map<string, Claims>();
const flags = { dropNonce: false };

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'upstream-1', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.RP_CLIENT_ID!,
    client_secret: process.env.RP_CLIENT_SECRET!,
    redirect_uris: [process.env.RP_REDIRECT_URI!],
    backchannel_logout_uri: process.env.RP_BACKCHANNEL_URI,
    backchannel_logout_session_required: true,
    response_types: ['code'],
    grant_types: ['authorization_code'],
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ['upstream-test-cookie-key'] },
  pkce: { required: () => true },
  claims: {
    openid: ['sub', 'company', 'role'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  conformIdTokenClaims: false,
  // oidc-provider refuses outgoing requests to loopback addresses (SSRF protection); grantledger
  // runs on 127.0.0.1 in tests, so the back-channel logout call goes out without that check.
  fetch: (url: string | URL | Request, options?: RequestInit) => {
    const { dispatcher: _ssrfCheck, ...rest } = (options ?? {}) as RequestInit & { dispatcher?: unknown };
    return fetch(url, rest);
  },
  features: {
    devInteractions: { enabled: false },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  findAccount: (_ctx: KoaContextWithOIDC, sub: string) => {
    const claims = accounts.get(sub);
    if (!claims) return undefined;
    return { accountId: sub, claims: (_use: string, _scope: string, _req?: Record<string, ClaimsParameterMember | null>) => ({ ...claims, sub }) };
  },
  interactions: { url: (_ctx: KoaContextWithOIDC, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
});
provider.proxy = false;
provider.on('backchannel.error', (_ctx: unknown, err: Error, client: { clientId: string }) => process.stderr.write(`backchannel.error ${client.clientId}: ${err.message} ${String((err as { cause?: unknown }).cause)}\n`));
provider.on('backchannel.success', () => process.stderr.write('backchannel.success\n'));
provider.on('end_session.success', (ctx: KoaContextWithOIDC) => process.stderr.write(`end_session.success ${JSON.stringify(Object.keys((ctx.oidc.session as unknown as { authorizations?: object })?.authorizations ?? {}))}\n`));
provider.on('server_error', (_ctx: unknown, err: Error) => process.stderr.write(`server_error: ${err.stack}\n`));

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

const callback = provider.callback();
const server = createServer(async (req, res) => {
  const url = new URL(req.url!, issuer);
  try {
    if (url.pathname === '/test/accounts' && req.method === 'POST') {
      accounts.clear();
      for (const [sub, claims] of Object.entries(JSON.parse(await body(req)) as Record<string, Record<string, unknown>>)) {
        accounts.set(sub, { ...claims, sub });
      }
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/test/flags' && req.method === 'POST') {
      Object.assign(flags, JSON.parse(await body(req)));
      res.writeHead(204).end();
      return;
    }
    const m = /^\/interaction\/([^/]+)(\/login)?$/.exec(url.pathname);
    if (m) {
      const details = await provider.interactionDetails(req, res);
      if (!m[2]) {
        res.writeHead(200, { 'content-type': 'text/html' }).end(
          `<!doctype html><title>Upstream sign-in</title><h1>Sign in to the SaaS</h1>
<form id="upstream-login" method="post" action="/interaction/${details.uid}/login">
<label>Who are you? <input id="sub" name="sub" autofocus></label><button type="submit">Sign in</button></form>`,
        );
        return;
      }
      const sub = new URLSearchParams(await body(req)).get('sub') ?? '';
      if (!accounts.has(sub)) {
        res.writeHead(401, { 'content-type': 'text/html' }).end('<!doctype html><p>No such person at the SaaS.</p>');
        return;
      }
      const grant = new provider.Grant({ accountId: sub, clientId: String(details.params.client_id) });
      grant.addOIDCScope(String(details.params.scope));
      await provider.interactionFinished(req, res, { login: { accountId: sub }, consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: false });
      return;
    }
    if (url.pathname === '/token' && flags.dropNonce) {
      // Answer as the provider does, then take `nonce` out of the ID token and sign it again.
      const chunks: Buffer[] = [];
      const write = res.write.bind(res);
      const end = res.end.bind(res);
      res.write = ((chunk: Buffer | string) => { chunks.push(Buffer.from(chunk)); return true; }) as typeof res.write;
      res.end = ((chunk?: Buffer | string) => {
        if (chunk) chunks.push(Buffer.from(chunk));
        const text = Buffer.concat(chunks).toString();
        void (async () => {
          let out = text;
          try {
            const json = JSON.parse(text) as { id_token?: string };
            if (json.id_token) {
              const { nonce: _dropped, ...claims } = decodeJwt(json.id_token);
              const header = decodeProtectedHeader(json.id_token);
              json.id_token = await new SignJWT(claims).setProtectedHeader({ alg: header.alg!, kid: header.kid }).sign(privateKey);
              out = JSON.stringify(json);
            }
          } catch { /* not JSON: pass through */ }
          res.removeHeader('content-length');
          write(out);
          end();
        })();
        return res;
      }) as typeof res.end;
    }
    callback(req, res);
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
  }
});
server.listen(port, () => process.stdout.write(`ready ${issuer}\n`));
