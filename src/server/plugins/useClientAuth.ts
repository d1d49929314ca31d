import { createGraphQLError, type Plugin } from "graphql-yoga";
import { ErrorCode } from "../../error-codes.ts";
import {
  AUTH_MESSAGES,
  type AuthOutcome,
  anonymousClient,
  authenticateHeaders,
  type ClientIdentity,
  type ClientVerifier,
  unauthenticatedResponse,
} from "../policy/client-auth.ts";
import { requestState } from "../request-state.ts";
import { remoteAddressOf } from "../server-context.ts";

export interface ClientAuthOptions {
  /** Decides who the caller is; the graphql-ws transport admits connections with it too. */
  verifier: ClientVerifier;
  /**
   * Paths served without credentials. Probes and scrapers cannot carry secrets, and these
   * answer nothing a caller could abuse.
   * @default ["/healthz", "/readyz", "/metrics"]
   */
  publicPaths?: readonly string[];
}

const clients = requestState<ClientIdentity>("client");

/**
 * Who sent this request, once {@link useClientAuth} has seen it: the key id, the JWT subject, or
 * for anonymous callers their address. Rate limits and subscription caps key on `id`.
 */
export function clientOf(request: Request | undefined): ClientIdentity | undefined {
  return request ? clients.get(request) : undefined;
}

const refusalResponse = (outcome: Extract<AuthOutcome, { ok: false }>) =>
  outcome.reason === "missing"
    ? unauthenticatedResponse(AUTH_MESSAGES.missing)
    : unauthenticatedResponse(AUTH_MESSAGES.invalid, "invalid_token");

/**
 * Client authentication: who the caller is, for every operation whatever its transport.
 *
 * HTTP requests are checked in `onRequest`, before the body is parsed, so a caller without valid
 * credentials costs no parsing or validation and gets a 401. Yoga serves the GraphiQL page before
 * user plugins run, so the page stays public while every operation it sends is checked.
 * graphql-ws operations skip `onRequest`; their normalised request (the upgrade's headers with
 * the `connection_init` credentials) is checked in `onParams`, the first hook they pass, and a
 * refusal ends just that operation with `UNAUTHENTICATED`.
 */
export function useClientAuth(options: ClientAuthOptions): Plugin {
  const publicPaths = new Set(options.publicPaths ?? ["/healthz", "/readyz", "/metrics"]);
  const identify = (request: Request, context: unknown) =>
    authenticateHeaders(options.verifier, request.headers, remoteAddressOf(context));
  /**
   * `then` on an outcome that may be a promise: only a JWT is waited for. A hook returning a
   * promise makes Yoga run every later hook of its kind through promise chains, so a request
   * with an API key (or none) must get none from here.
   */
  const settle = (outcome: AuthOutcome | Promise<AuthOutcome>, on: (o: AuthOutcome) => void) =>
    outcome instanceof Promise ? outcome.then(on) : on(outcome);
  return {
    onRequest({ request, url, serverContext, endResponse }) {
      // CORS preflights never carry credentials and never run an operation.
      if (request.method === "OPTIONS" || publicPaths.has(url.pathname)) {
        clients.set(request, anonymousClient(remoteAddressOf(serverContext)));
        return;
      }
      return settle(identify(request, serverContext), (outcome) => {
        if (outcome.ok) clients.set(request, outcome.client);
        else endResponse(refusalResponse(outcome));
      });
    },
    onParams({ request, context }) {
      if (clients.has(request)) return;
      return settle(identify(request, context), (outcome) => {
        if (!outcome.ok) {
          throw createGraphQLError(AUTH_MESSAGES[outcome.reason], {
            extensions: { code: ErrorCode.UNAUTHENTICATED },
          });
        }
        clients.set(request, outcome.client);
      });
    },
  };
}
