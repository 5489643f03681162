// The GraphQL endpoint: graphql-yoga serving the Pothos schema, with the
// caller authenticated in the context factory, GraphQL Armor's defaults
// against hostile documents, and unexpected errors masked.
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError, Kind, parse } from 'graphql';
import { createYoga, maskError } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/service.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import { readApiKey } from '../auth/credentials.ts';
import { UnauthenticatedError } from '../auth/errors.ts';
import { classifyFailure, GRAPHQL_CODES } from '../errors/kinds.ts';
import { retryAfterOf } from '../errors/request.ts';
import { acceptJsonOfAnyType, authenticateRequest, doorErrorHandler, headersOf, refuseAuthentication } from '../rest/common.ts';
import type { AuthRefusals } from '../auth/refusals.ts';
import type { KeyService } from '../keys/service.ts';
import type { IdentityService } from '../identities/service.ts';
import { loginWithOidc } from '../rest/auth.ts';
import type { Caller } from '../auth/caller.ts';
import type { EnvironmentService } from '../environments/service.ts';
import type { EventHub } from '../events/hub.ts';
import type { WebhookService } from '../webhooks/service.ts';
import type { SecretService } from '../secrets/service.ts';
import type { Context } from './builder.ts';
import { GRAPHIQL_CSP, graphiqlAssetRoutes, renderGraphiQL } from './graphiql/page.ts';
import { useValueFreeValidationErrors, withoutSubmittedValues } from './value-free-errors.ts';
import { schema } from './schema.ts';

export interface GraphQLDeps {
  readonly authenticator: Authenticator;
  readonly audit: AuditLog;
  readonly refusals: AuthRefusals;
  readonly secrets: SecretService;
  readonly environments: EnvironmentService;
  readonly keys: KeyService;
  readonly hub: EventHub;
  readonly webhooks: WebhookService;
  readonly identities: IdentityService;
  readonly logger: Logger;
}

interface ServerContext {
  req: FastifyRequest;
  reply: FastifyReply;
}

const EXAMPLE_QUERY = `# Send your API key in the Headers tab below:
#   { "Authorization": "Bearer sk-lw-..." }
mutation Create {
  createSecret(input: { name: "MY_API_KEY", value: "s3cr3t" }) {
    __typename
    ... on CreateSecretSuccess { secret { id name version createdAt } }
    ... on Error { code message }
    ... on ValidationError { fields { path message } }
  }
}

query List {
  secrets(first: 10) {
    edges { node { id name updatedAt } }
    pageInfo { hasNextPage endCursor }
  }
}
`;

const describe = (args: unknown[]) => args.map(String).join(' ');

const INVALID_JSON_PARAMS = "The request's variables or extensions are not valid JSON.";

/**
 * The error a client sees for a failure of a kind GraphQL names
 * (GRAPHQL_CODES), with its status; undefined for an internal failure or one
 * of another kind, which yoga masks in its own words.
 */
function topLevelError(err: Error): GraphQLError | undefined {
  const failure = classifyFailure(err);
  const code = failure.kind === 'internal' ? undefined : GRAPHQL_CODES[failure.kind];
  if (code === undefined) return undefined;
  const retryAfter = retryAfterOf(err);
  const headers = retryAfter !== undefined ? { headers: { 'retry-after': String(retryAfter) } } : {};
  return new GraphQLError(failure.message, { extensions: { code, http: { status: failure.status, ...headers } } });
}

/**
 * Whether an operation sent without a key asks for one login and nothing else
 * (loginWithOidc, and __typename beside it): the one operation a workload
 * makes before it has a key. Anything else without a key is refused.
 */
function isLoginOnly(params: { query?: string | undefined; operationName?: string | null | undefined }): boolean {
  if (!params.query) return false;
  let document;
  try {
    document = parse(params.query, { maxTokens: 500 });
  } catch {
    return false;
  }
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const operation = params.operationName ? operations.find((o) => o.name?.value === params.operationName) : operations.length === 1 ? operations[0] : undefined;
  if (operation?.operation !== 'mutation') return false;
  const fields = operation.selectionSet.selections;
  const allowed = fields.every((f) => f.kind === Kind.FIELD && (f.name.value === 'loginWithOidc' || f.name.value === '__typename'));
  return allowed && fields.filter((f) => f.kind === Kind.FIELD && f.name.value === 'loginWithOidc').length === 1;
}

/** Who a login-only operation acts as until it has a key: no project, no scope (so any other field would be refused). */
const NOBODY: Caller = {
  projectId: '000000000000000000000000',
  keyId: '',
  scopes: [],
  keyExpiresAt: null,
  boundEnvironment: null,
  requireRevealReason: false,
  door: 'graphql',
  requestId: '',
};

export function createGraphQLHandler(deps: GraphQLDeps) {
  const log = deps.logger.child({ component: 'graphql' });

  return createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    // yoga logs here, among others, the cause of every error it masks.
    logging: {
      debug: (...args) => log.debug(describe(args)),
      info: (...args) => log.info(describe(args)),
      warn: (...args) => log.warn(describe(args)),
      error: (...args) => {
        const err = args.find((arg): arg is Error => arg instanceof Error);
        // A request's own error (bad syntax, a variable that does not coerce) is
        // logged as the client sees it: its original message may quote a value.
        if (err instanceof GraphQLError && !(err.originalError && !(err.originalError instanceof GraphQLError))) {
          log.info({ failure: withoutSubmittedValues(err).message }, 'GraphQL request refused');
        } else if (err instanceof SyntaxError) {
          // JSON.parse's message quotes the text it could not read.
          log.info({ failure: INVALID_JSON_PARAMS }, 'GraphQL request refused');
        } else if (err) {
          log.error({ err: { type: err.name, message: err.message, stack: err.stack } }, 'unexpected GraphQL error');
        } else {
          log.error(describe(args));
        }
      },
    },
    graphiql: { title: 'Secrets service', defaultQuery: EXAMPLE_QUERY },
    // Served from our origin, never a CDN: see graphiql/page.ts.
    renderGraphiQL,
    landingPage: false,
    plugins: [EnvelopArmorPlugin(), useValueFreeValidationErrors()],
    // Anything but a GraphQLError becomes "Unexpected error." for the client,
    // but for the kinds GraphQL names (a database that cannot be reached is a
    // 503). isDev stays false: it would put original messages and stacks in responses.
    maskedErrors: {
      isDev: false,
      maskError(error, message, isDev) {
        // The errors of a request's document and variables (they have no
        // response path) and of its arguments, reworded so as not to quote a value.
        if (error instanceof GraphQLError && (error.path === undefined || error.message.startsWith('Argument "'))) {
          const safe = withoutSubmittedValues(error);
          if (safe !== error) return safe;
        }
        const original = error instanceof GraphQLError ? error.originalError : error;
        // A request yoga refused on purpose (variables that are not JSON, say) keeps its 4xx and its fixed message.
        const status = error instanceof GraphQLError ? (error.extensions?.http as { status?: number } | undefined)?.status : undefined;
        if (error instanceof GraphQLError && status !== undefined && status < 500) return withoutSubmittedValues(error);
        // yoga parses a GET's variables and extensions with JSON.parse, whose error is a bare SyntaxError.
        if (error instanceof SyntaxError) {
          return new GraphQLError(INVALID_JSON_PARAMS, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
        }
        return (original instanceof Error ? topLevelError(original) : undefined) ?? maskError(error, message, isDev);
      },
    },
    // The key was checked before the body was read (graphqlRoute); an
    // operation sent without one is refused here, and counted as a refusal.
    context: async ({ req, params }): Promise<Context> => {
      const services = {
        secrets: deps.secrets,
        environments: deps.environments,
        keys: deps.keys,
        audit: deps.audit,
        hub: deps.hub,
        webhooks: deps.webhooks,
        identities: deps.identities,
        loginWithOidc: (input: { identity: string; token: string }) => loginWithOidc(req, deps, 'graphql', input),
      };
      if (req.caller) {
        const key = readApiKey(headersOf(req));
        // A long-lived operation (a subscription) asks again now and then: a revoked or expired key ends it.
        const stillValid = async () => void (await deps.authenticator.authenticate(key));
        return { caller: req.caller, stillValid, ...services };
      }
      if (isLoginOnly(params)) return { caller: { ...NOBODY, requestId: req.id }, stillValid: async () => {}, ...services };
      const refusal = await refuseAuthentication(req, deps, 'graphql', new UnauthenticatedError());
      throw topLevelError(refusal) ?? refusal;
    },
  });
}

/**
 * POST /graphql (and GET, for GraphiQL and queries in the URL). A request
 * that fails before yoga sees it (a body that is not JSON, or too large) gets
 * a GraphQL-shaped error body, not a REST door's.
 */
export function graphqlRoute(deps: GraphQLDeps) {
  const yoga = createGraphQLHandler(deps);

  return async function register(app: FastifyInstance) {
    await app.register(graphiqlAssetRoutes());
    acceptJsonOfAnyType(app);
    app.setErrorHandler(
      doorErrorHandler((failure) => {
        const code = GRAPHQL_CODES[failure.kind] ?? 'BAD_REQUEST';
        // yoga's own words for what it masks, so that a client sees one message whichever layer failed.
        const message = failure.kind === 'internal' ? 'Unexpected error.' : failure.message;
        return { body: { errors: [{ message, extensions: { code } }] } };
      }),
    );
    app.route({
      url: '/graphql',
      method: ['GET', 'POST', 'OPTIONS'],
      // Described by schema.graphql and introspection, not by OpenAPI.
      schema: { hide: true },
      // A key is checked before the body is read, as on the REST doors. No key
      // at all is let through: GraphiQL's page needs none, and yoga's context
      // refuses an operation without one.
      onRequest: async (request) => {
        request.caller = readApiKey(headersOf(request)) === undefined ? null : await authenticateRequest(request, deps, 'graphql');
      },
      handler: async (request, reply) => {
        const response = await yoga.handleNodeRequestAndResponse(request, reply, { req: request, reply });
        response.headers.forEach((value, key) => reply.header(key, value));
        // GraphiQL's page, where people paste API keys, may load from our origin only.
        if (response.headers.get('content-type')?.startsWith('text/html')) reply.header('content-security-policy', GRAPHIQL_CSP);
        reply.status(response.status);
        reply.send(response.body);
        return reply;
      },
    });
  };
}
