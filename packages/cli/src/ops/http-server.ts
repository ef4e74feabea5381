/**
 * A small HTTP server on node:http for the coordinator's API and dashboard and every process's
 * `/metrics`: routes come from one table, errors become one JSON line with a status code, and an
 * optional bearer token guards every route. Listens on loopback unless told otherwise.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { ErrorCode, errorMessage, isMrmError, type Logger, MrmError, silentLogger } from '@mrm/core';

/** Default host: loopback only. */
export const DEFAULT_HTTP_HOST = '127.0.0.1';

/** What a route handler sees of a request. */
export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** The capture groups of the route's path pattern. */
  readonly params: readonly string[];
}

/** What a route handler answers. */
export interface HttpReply {
  readonly status?: number;
  readonly contentType: string;
  readonly body: string | Uint8Array;
}

/** One entry of a route table. */
export interface Route {
  readonly method: 'GET' | 'POST';
  /** Matched against the whole path; capture groups become `params`. */
  readonly path: RegExp;
  readonly handle: (request: HttpRequest) => Promise<HttpReply>;
}

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  readonly port: number;
  readonly host?: string;
  /** When set, every request must carry `Authorization: Bearer <token>` (or `?token=<token>`). */
  readonly token?: string;
  readonly routes: readonly Route[];
  readonly logger?: Logger;
}

/** A running server. */
export interface HttpServerHandle {
  /** `http://host:port`, with the port actually bound (port 0 picks a free one). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A JSON reply. */
export function json(body: unknown, status = 200): HttpReply {
  return { status, contentType: 'application/json; charset=utf-8', body: `${JSON.stringify(body)}\n` };
}

/** HTTP status of an error a handler threw. */
function statusOf(e: unknown): number {
  if (!isMrmError(e)) return 500;
  switch (e.code) {
    case ErrorCode.BadOption:
    case ErrorCode.BadKey:
      return 400;
    case ErrorCode.NoSuchVersion:
      return 404;
    case ErrorCode.State:
      return /^no job/.test(e.message) ? 404 : 409;
    case ErrorCode.Transport:
    case ErrorCode.Timeout:
      return 503;
    default:
      return 500;
  }
}

function authorized(req: IncomingMessage, query: URLSearchParams, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : (query.get('token') ?? '');
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function answer(options: HttpServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  let reply: HttpReply;
  if (!authorized(req, url.searchParams, options.token)) {
    reply = json({ error: { code: 'E_UNAUTHORIZED', message: 'missing or wrong bearer token' } }, 401);
  } else {
    const method = req.method ?? 'GET';
    const matches = options.routes
      .map((route) => ({ route, m: route.path.exec(url.pathname) }))
      .filter((x) => x.m !== null && x.m[0] === url.pathname);
    const hit = matches.find((x) => x.route.method === method || (method === 'HEAD' && x.route.method === 'GET'));
    if (hit === undefined) {
      reply =
        matches.length > 0
          ? json({ error: { code: 'E_METHOD', message: `${method} is not allowed on ${url.pathname}` } }, 405)
          : json({ error: { code: 'E_NOT_FOUND', message: `no such path: ${url.pathname}` } }, 404);
    } else {
      try {
        reply = await hit.route.handle({
          method,
          path: url.pathname,
          query: url.searchParams,
          params: (hit.m as RegExpExecArray).slice(1).map((p) => decodeURIComponent(p ?? '')),
        });
      } catch (e) {
        const status = statusOf(e);
        if (status === 500)
          (options.logger ?? silentLogger).warn('http request failed', { path: url.pathname, error: String(e) });
        reply = json(
          { error: { code: isMrmError(e) ? e.code : ErrorCode.Internal, message: errorMessage(e) } },
          status,
        );
      }
    }
  }
  res.writeHead(reply.status ?? 200, {
    'content-type': reply.contentType,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : reply.body);
}

/** Starts listening; resolves once bound. */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServerHandle> {
  const host = options.host ?? DEFAULT_HTTP_HOST;
  const server: Server = createServer((req, res) => {
    // The request body is never read: drain it so the connection can be reused.
    req.resume();
    answer(options, req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new MrmError(ErrorCode.BadOption, `cannot listen for HTTP on ${host}:${options.port}: ${e.code ?? e.message}`, {
          cause: e,
        }),
      ),
    );
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  // A wildcard address is reached by others through the machine's name.
  const shownHost = host === '0.0.0.0' || host === '::' ? hostname() : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
