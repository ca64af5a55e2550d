// A route of a JSON API, declared once: method, path, what the OpenAPI document says about it,
// the guard's schemas and the errors it can answer. The router is built from the declarations
// (mountRoutes) and so is the document (openapi.ts), so a route cannot exist undocumented and
// a documented operation cannot be missing.
import type Router from '@koa/router';
import type { Next } from 'koa';
import type { z } from 'zod';
import { guard, type GuardConfig, type GuardedContext } from './guard.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429;

/** An API route always declares its success status and the shape of its answer. */
export interface RouteGuard extends GuardConfig {
  response: z.ZodType;
  status: number;
}

export interface ApiRoute<C extends RouteGuard = RouteGuard> {
  method: HttpMethod;
  /** Koa path below the router's prefix, e.g. `/connected-apps/:id`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  deprecated?: boolean;
  guard: C;
  /** The success answer: what it means, and its headers (zod schemas carrying a description). */
  answer: { description: string; headers?: Record<string, z.ZodType> };
  /** Every error status the route can answer (the document refuses a guard's status left out). */
  errors: readonly ErrorStatus[];
  handler(ctx: GuardedContext<C>, next: Next): unknown;
}

/** Identity, for type inference: `ctx.guard` in the handler is typed by the route's schemas. */
export const defineRoute = <C extends RouteGuard>(route: ApiRoute<C>): ApiRoute<C> => route;

/** Registers each route (named by its operationId) behind its guard. */
export function mountRoutes(router: Router, routes: readonly ApiRoute[], options: { maxBodyBytes: number }): void {
  for (const route of routes) {
    const middleware = guard({ ...route.guard, maxBodyBytes: options.maxBodyBytes }, (ctx, next) => route.handler(ctx, next));
    router[route.method](route.operationId, route.path, middleware);
  }
}
