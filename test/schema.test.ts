import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type GraphQLObjectType, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/config.ts';
import { schema } from '../src/graphql/schema.ts';

describe('schema.graphql', () => {
  it('is what the code-first schema prints (run `npm run schema` after changing types)', () => {
    const committed = readFileSync(path.join(projectRoot, 'schema.graphql'), 'utf8');
    expect(committed).toBe(`${printSchema(schema)}\n`);
  });

  it('holds the names the contract fixes', () => {
    const sdl = printSchema(schema);
    // Each field's arguments and type; every secret query and mutation takes `environment` (issue 14).
    const signature = (type: GraphQLObjectType, name: string) => {
      const field = type.getFields()[name]!;
      return { args: Object.fromEntries(field.args.map((a) => [a.name, String(a.type)])), type: String(field.type) };
    };
    const query = schema.getQueryType()!;
    const mutation = schema.getMutationType()!;
    expect(signature(mutation, 'createSecret')).toEqual({
      args: { environment: 'String', idempotencyKey: 'String', input: 'CreateSecretInput!' },
      type: 'CreateSecretResult!',
    });
    expect(signature(mutation, 'updateSecret')).toEqual({
      args: { environment: 'String', id: 'ID!', input: 'UpdateSecretInput!' },
      type: 'UpdateSecretResult!',
    });
    expect(signature(query, 'secret')).toEqual({ args: { environment: 'String', id: 'ID!' }, type: 'Secret' });
    // Relay connection arguments: `before` and `last` are declared by the plugin and refused (pages go forward).
    const PAGE_ARGS = { after: 'String', before: 'String', first: 'Int', last: 'Int' };
    expect(signature(query, 'secrets')).toEqual({ args: { ...PAGE_ARGS, environment: 'String', nameStartsWith: 'String' }, type: 'SecretConnection!' });
    expect(signature(query, 'apiKeys')).toEqual({ args: PAGE_ARGS, type: 'ApiKeyConnection!' });
    expect(signature(query, 'environments')).toEqual({ args: {}, type: '[Environment!]!' });
    for (const line of [
      // The contract's members, plus ForbiddenError for scoped keys (issue 8) and NotFoundError for an unknown environment (issue 14).
      'union CreateSecretResult = ConflictError | CreateSecretSuccess | ForbiddenError | NotFoundError | ValidationError',
      // The contract's three members, plus ConflictError for compare-and-set (issue 6).
      'union UpdateSecretResult = ConflictError | ForbiddenError | NotFoundError | UpdateSecretSuccess | ValidationError',
      'createApiKey(input: CreateApiKeyInput!): CreateApiKeyResult!',
      'revokeApiKey(id: ID!): RevokeApiKeyResult!',
      'type ValidationError implements Error',
      'fields: [FieldError!]!',
      'scalar DateTime',
      'createEnvironment(input: CreateEnvironmentInput!): CreateEnvironmentResult!',
      'deleteEnvironment(slug: String!): DeleteEnvironmentResult!',
    ]) {
      expect(sdl).toContain(line);
    }
    expect(sdl).toMatch(/interface Error \{\s+code: ErrorCode!\s+message: String!\s+\}/);
    expect(sdl).toMatch(/enum ErrorCode \{\s+CONFLICT\s+FORBIDDEN\s+NOT_FOUND\s+PAST_RETENTION\s+TOKEN_REFUSED\s+VALIDATION_FAILED\s+VALUE_UNREADABLE\s+\}/);
  });

  it('has no field that could return a value', () => {
    const version = schema.getType('SecretVersion') as GraphQLObjectType;
    expect(Object.keys(version.getFields()).sort()).toEqual(['createdAt', 'createdBy', 'version']);
    const secret = schema.getType('Secret') as GraphQLObjectType;
    expect(Object.keys(secret.getFields()).sort()).toEqual([
      'createdAt',
      'createdBy',
      'deletedAt',
      'description',
      'environment',
      'expiresAt',
      'id',
      'lastUpdatedBy',
      'name',
      'projectId',
      'provider',
      'restorableUntil',
      'updatedAt',
      'version',
      'versions',
    ]);
  });
});
