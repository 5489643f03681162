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
    for (const line of [
      'input: CreateSecretInput!',
      '): CreateSecretResult!',
      'updateSecret(id: ID!, input: UpdateSecretInput!): UpdateSecretResult!',
      'secret(id: ID!): Secret',
      'secrets(after: String, first: Int): SecretConnection!',
      // The contract's members, plus ForbiddenError for scoped keys (issue 8).
      'union CreateSecretResult = ConflictError | CreateSecretSuccess | ForbiddenError | ValidationError',
      // The contract's three members, plus ConflictError for compare-and-set (issue 6).
      'union UpdateSecretResult = ConflictError | ForbiddenError | NotFoundError | UpdateSecretSuccess | ValidationError',
      'createApiKey(input: CreateApiKeyInput!): CreateApiKeyResult!',
      'revokeApiKey(id: ID!): RevokeApiKeyResult!',
      'apiKeys(after: String, first: Int): ApiKeyConnection!',
      'type ValidationError implements Error',
      'fields: [FieldError!]!',
      'scalar DateTime',
    ]) {
      expect(sdl).toContain(line);
    }
    expect(sdl).toMatch(/interface Error \{\s+code: ErrorCode!\s+message: String!\s+\}/);
    expect(sdl).toMatch(/enum ErrorCode \{\s+CONFLICT\s+FORBIDDEN\s+NOT_FOUND\s+VALIDATION_FAILED\s+VALUE_UNREADABLE\s+\}/);
  });

  it('has no field that could return a value', () => {
    const version = schema.getType('SecretVersion') as GraphQLObjectType;
    expect(Object.keys(version.getFields()).sort()).toEqual(['createdAt', 'createdBy', 'version']);
    const secret = schema.getType('Secret') as GraphQLObjectType;
    expect(Object.keys(secret.getFields()).sort()).toEqual(
      ['createdAt', 'createdBy', 'deletedAt', 'description', 'expiresAt', 'id', 'lastUpdatedBy', 'name', 'projectId', 'provider', 'updatedAt', 'version', 'versions'],
    );
  });
});
