import type { IncomingMessage } from "node:http";
import type { Plugin } from "graphql-yoga";
import {
  AUTH_MESSAGES,
  anonymousClient,
  type ClientIdentity,
  type ClientVerifier,
  presentedCredential,
  unauthenticatedResponse,
} from "../policy/client-auth.ts";

export interface ClientAuthOptions {
  /** Decides who the caller is; shared with the graphql-ws transport. */
  verifier: ClientVerifier;
  /**
   * Paths served without credentials. Probes and scrapers cannot carry secrets, and these
   * answer nothing a caller could abuse.
   * @default ["/healthz", "/readyz", "/metrics"]
   */
  publicPaths?: readonly string[];
}

const clients = new WeakMap<Request, ClientIdentity>();

/**
 * Who sent this request, once {@link useClientAuth} has seen it: the key id, the JWT subject, or
 * for anonymous callers their address. Rate limits and subscription caps key on `id`.
 */
export function clientOf(request: Request | undefined): ClientIdentity | undefined {
  return request ? clients.get(request) : undefined;
}

/** The peer address as Node saw it; `X-Forwarded-For` is not trusted. */
export function remoteAddressOf(serverContext: unknown): string | undefined {
  return (serverContext as { req?: IncomingMessage } | undefined)?.req?.socket?.remoteAddress;
}

/**
 * Client authentication for HTTP. Runs in `onRequest`, before the body is parsed, so a caller
 * without valid credentials costs no parsing or validation. Yoga serves the GraphiQL page
 * before user plugins run, so the page stays public while every operation it sends is checked.
 */
export function useClientAuth(options: ClientAuthOptions): Plugin {
  const publicPaths = new Set(options.publicPaths ?? ["/healthz", "/readyz", "/metrics"]);
  return {
    async onRequest({ request, url, serverContext, endResponse }) {
      const anonymous = anonymousClient(remoteAddressOf(serverContext));
      // CORS preflights never carry credentials and never run an operation.
      if (request.method === "OPTIONS" || publicPaths.has(url.pathname)) {
        clients.set(request, anonymous);
        return;
      }
      const outcome = await options.verifier.authenticate(
        presentedCredential(request.headers.get("authorization"), request.headers.get("x-api-key")),
        anonymous,
      );
      if (outcome.ok) {
        clients.set(request, outcome.client);
        return;
      }
      endResponse(
        outcome.reason === "missing"
          ? unauthenticatedResponse(AUTH_MESSAGES.missing)
          : unauthenticatedResponse(AUTH_MESSAGES.invalid, "invalid_token"),
      );
    },
  };
}
