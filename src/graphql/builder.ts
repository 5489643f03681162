// The schema builder and its plugins. It defines no types: those live in types/.
import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import ZodPlugin from '@pothos/plugin-zod';
import { DateTimeResolver } from 'graphql-scalars';
import type { AuditLog } from '../audit/service.ts';
import type { Caller } from '../auth/authenticator.ts';
import type { EnvironmentService } from '../environments/service.ts';
import type { EventHub } from '../events/hub.ts';
import type { KeyService } from '../keys/service.ts';
import type { SecretService } from '../secrets/service.ts';
import type { WebhookService } from '../webhooks/service.ts';
import { InputValidationError } from './validation-error.ts';

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
}

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    ID: { Input: string; Output: string };
  };
}>({
  plugins: [ErrorsPlugin, ZodPlugin],
  defaultFieldNullability: false,
  zod: { validationError: (error) => InputValidationError.fromZod(error) },
  errors: { defaultTypes: [] },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.queryType({});
builder.mutationType({});
