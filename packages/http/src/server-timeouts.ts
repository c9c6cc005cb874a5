/**
 * Every connection is bounded in time (Node's and fastify's defaults leave most of these off): a client
 * that sends its headers or body slowly, or sits idle, cannot hold a socket. Event streams are long by
 * design: requestTimeout covers receiving the request only, and their heartbeat keeps them from idling.
 * Shared by the controller's and the agents' servers.
 */
export const serverTimeouts = {
  /** Idle socket (no byte either way) for this long: closed. */
  connectionTimeout: 60_000,
  /** The whole request, headers and body, must arrive within this. */
  requestTimeout: 30_000,
  /** Longer than common load balancers' 60 s idle timeout, so they never reuse a connection being closed. */
  keepAliveTimeout: 72_000,
  http: {
    headersTimeout: 10_000,
    /** How often the two limits above are enforced (Node's default is 30 s). */
    connectionsCheckingInterval: 2_000,
  },
}
