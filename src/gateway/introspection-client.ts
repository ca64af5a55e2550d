// RFC 7662 introspection as a gateway: client_secret_basic with the gateway's credentials,
// over keep-alive connections. The endpoint is given, or discovered once from the issuer's
// /.well-known/openid-configuration (a failed discovery is retried by the next request).
import http from 'node:http';
import https from 'node:https';
import { AuthorizationServerError } from './errors.js';
import { exchange, prepareRequest, type PreparedRequest } from './http-client.js';

export interface IntrospectionClientOptions {
  issuer?: string;
  introspectionEndpoint?: string;
  clientId: string;
  clientSecret: string;
  timeoutMs: number;
  agent?: http.Agent;
  allowInsecureHttp: boolean;
}

/** What the authorization server says when it refuses the token itself (e.g. a JWT-shaped value). */
const NOT_ACTIVE = Object.freeze({ active: false });
/** 400 errors about the token parameter: the token is unusable, the server is fine. */
const TOKEN_ERRORS = new Set(['invalid_request', 'unsupported_token_type']);

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** http:// sends the gateway secret and tokens in the clear: only on loopback unless allowed. */
export function checkTransport(url: URL, allowInsecureHttp: boolean, what: string): void {
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') throw new TypeError(`${what} must be an http(s) URL`);
  if (!allowInsecureHttp && !LOOPBACK.test(url.hostname)) {
    throw new TypeError(`${what} uses http:// on a non-loopback host (${url.host}): use https://, or set allowInsecureHttp: true on a trusted private network`);
  }
}

function parseUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${what} is not a valid URL: ${value}`);
  }
  if (url.username || url.password || url.hash) throw new TypeError(`${what} must not carry credentials or a fragment`);
  return url;
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 wants for client_secret_basic. */
const formEncode = (value: string) => encodeURIComponent(value);

export class IntrospectionClient {
  readonly #options: IntrospectionClientOptions;
  readonly #authorization: string;
  readonly #issuer: string | undefined;
  readonly #ownAgents: http.Agent[] = [];
  #endpoint: PreparedRequest | undefined;
  #discovery: Promise<PreparedRequest> | undefined;

  constructor(options: IntrospectionClientOptions) {
    this.#options = options;
    if (!options.clientId || !options.clientSecret) throw new TypeError('clientId and clientSecret (the gateway credentials) are required');
    if (!options.issuer === !options.introspectionEndpoint) throw new TypeError('give exactly one of issuer and introspectionEndpoint');
    this.#authorization = `Basic ${Buffer.from(`${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`).toString('base64')}`;
    if (options.introspectionEndpoint) {
      const url = parseUrl(options.introspectionEndpoint, 'introspectionEndpoint');
      checkTransport(url, options.allowInsecureHttp, 'introspectionEndpoint');
      this.#endpoint = this.#prepareIntrospection(url);
    } else {
      const url = parseUrl(options.issuer!, 'issuer');
      checkTransport(url, options.allowInsecureHttp, 'issuer');
      this.#issuer = url.href.replace(/\/+$/, '');
    }
  }

  /** The keep-alive agent for a protocol: the caller's, or one of our own. */
  #agentFor(protocol: string): http.Agent {
    const given = this.#options.agent;
    if (given && (given as http.Agent & { protocol?: string }).protocol === protocol) return given;
    let own = this.#ownAgents.find((a) => (a as http.Agent & { protocol?: string }).protocol === protocol);
    if (!own) {
      // lifo: the busiest sockets stay warm and the rest time out; a bounded pool protects the
      // authorization server from a burst (requests queue here, within their deadline).
      const init = { keepAlive: true, scheduling: 'lifo' as const, maxSockets: 128 };
      own = protocol === 'https:' ? new https.Agent(init) : new http.Agent(init);
      this.#ownAgents.push(own);
    }
    return own;
  }

  #prepareIntrospection(url: URL): PreparedRequest {
    return prepareRequest(url, 'POST', {
      authorization: this.#authorization,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    }, this.#agentFor(url.protocol));
  }

  /** Resolves the introspection endpoint (discovering it on first use). */
  endpoint(): Promise<PreparedRequest> | PreparedRequest {
    if (this.#endpoint) return this.#endpoint;
    this.#discovery ??= this.#discover().then(
      (prepared) => (this.#endpoint = prepared),
      (err: unknown) => {
        this.#discovery = undefined; // the next request tries again
        throw err;
      },
    );
    return this.#discovery;
  }

  async #discover(): Promise<PreparedRequest> {
    const url = new URL(`${this.#issuer}/.well-known/openid-configuration`);
    const res = await exchange(prepareRequest(url, 'GET', { accept: 'application/json' }, this.#agentFor(url.protocol)), undefined, this.#options.timeoutMs);
    if (res.status !== 200) {
      throw new AuthorizationServerError('bad_status', `discovery at ${url.href} answered HTTP ${res.status}`, res.status);
    }
    const doc = parseJsonObject(res.body, 'discovery document');
    if (doc.issuer !== this.#issuer && doc.issuer !== `${this.#issuer}/`) {
      throw new AuthorizationServerError('misconfigured', `discovery at ${url.href} names the issuer ${JSON.stringify(doc.issuer)}, not ${this.#issuer}`);
    }
    if (typeof doc.introspection_endpoint !== 'string') {
      throw new AuthorizationServerError('misconfigured', `the authorization server at ${this.#issuer} publishes no introspection_endpoint`);
    }
    let endpoint: URL;
    try {
      endpoint = parseUrl(doc.introspection_endpoint, 'the discovered introspection_endpoint');
      checkTransport(endpoint, this.#options.allowInsecureHttp, 'the discovered introspection_endpoint');
    } catch (err) {
      throw new AuthorizationServerError('misconfigured', (err as Error).message);
    }
    return this.#prepareIntrospection(endpoint);
  }

  /**
   * The introspection answer for `token` (a parsed JSON object), `{active: false}` when the
   * server rejected the token parameter itself (400 invalid_request / unsupported_token_type),
   * or an AuthorizationServerError.
   */
  async introspect(token: string): Promise<Record<string, unknown>> {
    const endpoint = this.#endpoint ?? (await this.endpoint());
    const body = `token=${encodeURIComponent(token)}&token_type_hint=access_token`;
    const res = await exchange(endpoint, body, this.#options.timeoutMs);
    if (res.status === 200) return parseJsonObject(res.body, 'introspection answer');
    if (res.status === 400 && TOKEN_ERRORS.has(errorCode(res.body))) return NOT_ACTIVE;
    const code = errorCode(res.body);
    const hint = res.status === 401 ? ': check the gateway client id and secret' : '';
    throw new AuthorizationServerError('bad_status', `introspection answered HTTP ${res.status}${code ? ` (${code})` : ''}${hint}`, res.status);
  }

  /** Closes idle keep-alive connections of the agents this client created. */
  close(): void {
    for (const agent of this.#ownAgents) agent.destroy();
  }
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AuthorizationServerError('bad_response', `the ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AuthorizationServerError('bad_response', `the ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function errorCode(text: string): string {
  try {
    const value = JSON.parse(text) as { error?: unknown };
    return typeof value?.error === 'string' ? value.error : '';
  } catch {
    return '';
  }
}
