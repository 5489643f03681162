// The Error interface, its codes, and one object type per domain error class.
import { ConflictError, NotFoundError } from '../../secrets/errors.ts';
import { builder } from '../builder.ts';
import { InputValidationError } from '../validation-error.ts';

export const ErrorCode = builder.enumType('ErrorCode', {
  values: ['VALIDATION_FAILED', 'NOT_FOUND', 'CONFLICT'] as const,
});

type ErrorCodeValue = typeof ErrorCode.$inferType;

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  fields: (t) => ({
    code: t.field({ type: ErrorCode, resolve: (error) => codeOf(error) }),
    message: t.exposeString('message'),
  }),
});

function codeOf(error: Error): ErrorCodeValue {
  if (error instanceof InputValidationError) return 'VALIDATION_FAILED';
  if (error instanceof NotFoundError) return 'NOT_FOUND';
  if (error instanceof ConflictError) return 'CONFLICT';
  throw new Error(`No GraphQL error code for ${error.name}`);
}

const FieldError = builder.objectRef<{ path: string[]; message: string }>('FieldError').implement({
  fields: (t) => ({
    path: t.exposeStringList('path'),
    message: t.exposeString('message'),
  }),
});

builder.objectType(InputValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    fields: t.field({ type: [FieldError], resolve: (error) => error.fields }),
  }),
});

builder.objectType(NotFoundError, { name: 'NotFoundError', interfaces: [ErrorInterface] });
builder.objectType(ConflictError, { name: 'ConflictError', interfaces: [ErrorInterface] });
