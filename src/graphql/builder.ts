// The schema builder and its plugins. It defines no types: those live in types/.
import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ZodPlugin from '@pothos/plugin-zod';
import { getNamedType, getNullableType, GraphQLError, isListType, isObjectType } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import type { AuditLog } from '../audit/service.ts';
import type { Caller } from '../auth/caller.ts';
import type { EnvironmentService } from '../environments/service.ts';
import type { EventHub } from '../events/hub.ts';
import type { IdentityService, OidcLogin } from '../identities/service.ts';
import type { KeyService } from '../keys/service.ts';
import type { SecretService } from '../secrets/service.ts';
import type { WebhookService } from '../webhooks/service.ts';
import { z } from 'zod';
import { PAGE_SIZE_DEFAULT, pageSizeSchema } from '../secrets/rules.ts';
import { InputValidationError } from './validation-error.ts';

/** The most a query may cost (see `complexity` below). */
export const QUERY_COMPLEXITY_MAX = 10_000;

const BACKWARDS = 'Pages go forward only: use first and after';

export interface Context {
  readonly caller: Caller;
  /** Resolves while the caller's key is still valid (not revoked, not expired); rejects otherwise. */
  readonly stillValid: () => Promise<void>;
  readonly secrets: SecretService;
  readonly environments: EnvironmentService;
  readonly keys: KeyService;
  readonly audit: AuditLog;
  readonly hub: EventHub;
  readonly webhooks: WebhookService;
  readonly identities: IdentityService;
  /** A login with a platform's token, counted against the request's address when refused (rest/auth.ts). */
  readonly loginWithOidc: (input: { identity: string; token: string }) => Promise<OidcLogin>;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    ID: { Input: string; Output: string };
  };
}>({
  plugins: [ErrorsPlugin, ZodPlugin, ComplexityPlugin, RelayPlugin],
  defaultFieldNullability: false,
  // What a query may ask for, counted with its variables (GraphQL Armor's
  // cost limit counts a literal `first` only): a page multiplies what is
  // selected under it by its `first`, an unpaged list of objects by 10.
  // `secrets(first: 100) { … versions(first: 100) … }` is 10,000 lookups
  // and more: refused before any resolver runs.
  complexity: {
    fieldComplexity: (args, _ctx, field) => {
      if (typeof args.first === 'number') return { field: 1, multiplier: Math.max(1, args.first) };
      const type = getNullableType(field.type);
      const unpagedObjects = isListType(type) && isObjectType(getNamedType(type)) && field.name !== 'edges';
      return { field: 1, multiplier: unpagedObjects ? 10 : 1 };
    },
    limit: { complexity: QUERY_COMPLEXITY_MAX },
    complexityError: (_kind, result) =>
      new GraphQLError(`This query would cost ${result.complexity}, more than ${QUERY_COMPLEXITY_MAX}: ask for smaller pages (first) or fewer nested lists`, {
        extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
      }),
  },
  // Every list is a Relay connection read forward: `first` and `after`.
  // The plugin also declares `last` and `before`; they are refused, since no
  // list here is read backwards.
  relay: {
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    firstArgOptions: {
      description: `At most this many (1 to ${pageSizeSchema.maxValue}; absent: ${PAGE_SIZE_DEFAULT}).`,
      validate: { schema: pageSizeSchema },
    },
    afterArgOptions: { description: "The previous page's endCursor; absent: from the start." },
    lastArgOptions: { description: 'Not supported: pages go forward (first, after).', validate: { schema: z.number().refine(() => false, BACKWARDS) } },
    beforeArgOptions: { description: 'Not supported: pages go forward (first, after).', validate: { schema: z.string().refine(() => false, BACKWARDS) } },
  },
  zod: { validationError: (error) => InputValidationError.fromZod(error) },
  errors: { defaultTypes: [] },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.queryType({});
builder.mutationType({});
