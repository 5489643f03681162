import { GraphQLError } from 'graphql';
import type { ZodError } from 'zod';
import { classifyFailure } from '../errors/kinds.ts';
import { ConflictError } from '../secrets/errors.ts';

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
 * The one translation of a service's failures into GraphQL's words, read from
 * the error table: a rule only the service checks (an expiry in the past, a
 * full project, a refused webhook address) is a ValidationError whose fields
 * sit under `argument` (the mutation's `input`, or [] where the service names
 * the argument itself), and an Idempotency-Key reused with another request is
 * a ConflictError. Everything else passes through unchanged.
 */
export async function inGraphQLTerms<T>(work: Promise<T>, argument: readonly string[]): Promise<T> {
  try {
    return await work;
  } catch (err) {
    const failure = classifyFailure(err);
    if (failure.kind === 'validation') {
      throw new InputValidationError(failure.issues.map(({ path, message }) => ({ path: path.length ? [...argument, ...path] : [], message })));
    }
    if (failure.kind === 'idempotency_mismatch') throw new ConflictError(failure.message);
    throw err;
  }
}
