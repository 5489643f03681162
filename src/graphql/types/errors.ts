// The Error interface, its codes, and one object type per domain error class
// that GraphQL returns as such (errors/kinds.ts names them).
import { ERROR_KINDS } from '../../errors/kinds.ts';
import { builder } from '../builder.ts';
import { InputValidationError } from '../validation-error.ts';

const DOMAIN_TYPES = ERROR_KINDS.flatMap(({ error, graphql }) => (error && graphql ? [{ error, ...graphql }] : []));

export const ErrorCode = builder.enumType('ErrorCode', {
  values: ['VALIDATION_FAILED', ...DOMAIN_TYPES.map((type) => type.code)],
});

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  fields: (t) => ({
    // Every implementing type overrides this with its own code.
    code: t.field({
      type: ErrorCode,
      resolve: () => {
        throw new Error('Error.code is set by each error type');
      },
    }),
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
    code: t.field({ type: ErrorCode, resolve: () => 'VALIDATION_FAILED' }),
    fields: t.field({ type: [FieldError], resolve: (error) => error.fields }),
  }),
});

for (const { error, typename, code, description } of DOMAIN_TYPES) {
  builder.objectType(error, {
    name: typename,
    description,
    interfaces: [ErrorInterface],
    fields: (t) => ({ code: t.field({ type: ErrorCode, resolve: () => code }) }),
  });
}
