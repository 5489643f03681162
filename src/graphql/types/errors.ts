// The Error interface, its codes, and one object type per domain error class.
import { ForbiddenError } from '../../auth/errors.ts';
import { ConflictError, NotFoundError, UnreadableValueError } from '../../secrets/errors.ts';
import { builder } from '../builder.ts';
import { InputValidationError } from '../validation-error.ts';

export const ErrorCode = builder.enumType('ErrorCode', {
  values: ['VALIDATION_FAILED', 'NOT_FOUND', 'CONFLICT', 'FORBIDDEN', 'VALUE_UNREADABLE'] as const,
});

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  fields: (t) => ({
    // Every implementing type overrides this with its own code.
    code: t.field({ type: ErrorCode, resolve: () => { throw new Error('Error.code is set by each error type'); } }),
    message: t.exposeString('message'),
  }),
});

const FieldError = builder.objectRef<{ path: string[]; message: string }>('FieldError').implement({
  description: 'One broken rule: where in the arguments, and what is wrong.',
  fields: (t) => ({
    path: t.exposeStringList('path'),
    message: t.exposeString('message'),
  }),
});

// Each error type sets its own code. It is fixed per type rather than found
// with instanceof: plugin-errors hands field resolvers a proxy of the error.
builder.objectType(InputValidationError, {
  name: 'ValidationError',
  description: 'The input broke one or more rules; nothing was stored.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    code: t.field({ type: ErrorCode, resolve: () => 'VALIDATION_FAILED' as const }),
    fields: t.field({ type: [FieldError], resolve: (error) => error.fields }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: "No such secret in the caller's project.",
  interfaces: [ErrorInterface],
  fields: (t) => ({ code: t.field({ type: ErrorCode, resolve: () => 'NOT_FOUND' as const }) }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The change collides with existing state, such as a taken name.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ code: t.field({ type: ErrorCode, resolve: () => 'CONFLICT' as const }) }),
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  description: "The API key lacks the scope this call needs (another project's secret is NotFoundError, never this).",
  interfaces: [ErrorInterface],
  fields: (t) => ({ code: t.field({ type: ErrorCode, resolve: () => 'FORBIDDEN' as const }) }),
});

builder.objectType(UnreadableValueError, {
  name: 'UnreadableValueError',
  description: "The secret's stored value cannot be opened with this node's master keys (written under another key, or damaged). Its name is in the server's log.",
  interfaces: [ErrorInterface],
  fields: (t) => ({ code: t.field({ type: ErrorCode, resolve: () => 'VALUE_UNREADABLE' as const }) }),
});
