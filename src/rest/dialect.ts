// Fastify's route constraint for paths two doors share.
/**
 * Routes that share a path with another door's are told apart by the
 * credential header the caller sends: OpenHands callers send
 * X-Session-API-Key (and neither X-Auth-Token nor Authorization). A route
 * declares `constraints: { dialect: 'openhands' }`; requests without that
 * dialect fall through to the route without the constraint.
 */
export const dialectConstraint = {
  name: 'dialect',
  storage() {
    const handlers = new Map<string, unknown>();
    return {
      get: (dialect: string) => (handlers.get(dialect) ?? null) as never,
      set: (dialect: string, store: unknown) => void handlers.set(dialect, store),
    };
  },
  deriveConstraint(req: { headers: Record<string, string | string[] | undefined> }) {
    const h = req.headers;
    return h['x-session-api-key'] && !h['x-auth-token'] && !h.authorization ? 'openhands' : 'default';
  },
  mustMatchWhenDerived: false,
  validate() {},
};
