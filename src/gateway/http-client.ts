// One HTTP exchange with the authorization server over a keep-alive agent: a hard deadline,
// a bounded response body, and one retry when a reused idle connection turns out to have been
// closed by the server in the meantime (the race every keep-alive client has). Failures become
// AuthorizationServerError; HTTP statuses are returned as they are, for the caller to judge.
import http, { type Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { AuthorizationServerError } from './errors.js';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface PreparedRequest {
  /** Options passed to http(s).request as they are (Node copies them; never mutated). */
  readonly options: http.RequestOptions;
  readonly secure: boolean;
}

const MAX_BODY_BYTES = 256 * 1024;

/** Errors of a reused keep-alive socket that the server closed while it sat idle. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);

export function prepareRequest(url: URL, method: 'GET' | 'POST', headers: OutgoingHttpHeaders, agent: Agent): PreparedRequest {
  const secure = url.protocol === 'https:';
  return {
    secure,
    options: {
      method,
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port || (secure ? 443 : 80),
      path: url.pathname + url.search,
      headers,
      agent,
    },
  };
}

export async function exchange(request: PreparedRequest, body: string | undefined, timeoutMs: number): Promise<HttpResponse> {
  const deadline = Date.now() + timeoutMs;
  try {
    return await attempt(request, body, timeoutMs);
  } catch (err) {
    const retry = err instanceof StaleSocketError && Date.now() < deadline;
    if (!retry) throw err instanceof StaleSocketError ? err.wrapped : err;
    try {
      return await attempt(request, body, deadline - Date.now());
    } catch (again) {
      throw again instanceof StaleSocketError ? again.wrapped : again;
    }
  }
}

class StaleSocketError extends Error {
  constructor(readonly wrapped: AuthorizationServerError) {
    super(wrapped.message);
  }
}

function attempt(request: PreparedRequest, body: string | undefined, timeoutMs: number): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const req = (request.secure ? https : http).request(request.options, (res) => {
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.length > MAX_BODY_BYTES) {
          fail(new AuthorizationServerError('bad_response', `the authorization server answered more than ${MAX_BODY_BYTES} bytes`));
        }
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
      });
      res.on('error', (err) => fail(unreachable(err)));
    });
    const timer = setTimeout(() => {
      fail(new AuthorizationServerError('timeout', `the authorization server did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      const wrapped = unreachable(err);
      fail(req.reusedSocket && STALE_SOCKET.has(err.code ?? '') ? new StaleSocketError(wrapped) : wrapped);
    });
    req.end(body);
  });
}

function unreachable(err: NodeJS.ErrnoException): AuthorizationServerError {
  return new AuthorizationServerError('unreachable', `the authorization server is unreachable (${err.code ?? err.message})`, undefined, { cause: err });
}
