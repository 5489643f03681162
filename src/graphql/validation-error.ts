import { GraphQLError } from 'graphql';
import type { ZodError } from 'zod';
import { InvalidFieldError } from '../secrets/errors.ts';

/**
 * Arguments broke a rule (plugin-zod's validationError makes one from every
 * ZodError). In a mutation that lists it, plugin-errors returns it as the
 * ValidationError member of the result union; anywhere else it is an ordinary
 * GraphQL error with code BAD_USER_INPUT, which yoga does not mask.
 */
export class InputValidationError extends GraphQLError {
  /** One per broken rule, with its path in the arguments (e.g. ["input", "name"]). */
  readonly fields: { path: string[]; message: string }[];

  constructor(fields: { path: string[]; message: string }[]) {
    // zod's own message is the issues' raw JSON; give people a sentence.
    super(`Invalid input: ${fields.map((f) => (f.path.length ? `${f.path.join('.')}: ${f.message}` : f.message)).join('; ')}`, {
      extensions: { code: 'BAD_USER_INPUT' },
    });
    this.fields = fields;
  }

  static fromZod(error: ZodError): InputValidationError {
    return new InputValidationError(error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })));
  }
}

/**
 * Runs a service call; an InvalidFieldError it throws (a rule the service
 * checks, not the schema) becomes the input's validation error, at `path(field)`.
 */
export async function asValidation<T>(run: () => Promise<T>, path: (field: string) => string[]): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof InvalidFieldError) throw new InputValidationError([{ path: path(err.field), message: err.message }]);
    throw err;
  }
}
