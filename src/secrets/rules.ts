// Every input rule, once. GraphQL (through @pothos/plugin-zod) and the REST
// doors import these schemas; nothing restates a rule elsewhere.
import { z } from 'zod';

export const SECRET_NAME_MAX = 255;
export const SECRET_VALUE_MAX = 10_000;

export const secretNameSchema = z
  .string()
  .min(1, 'Name must not be empty')
  .max(SECRET_NAME_MAX, `Name must be at most ${SECRET_NAME_MAX} characters`)
  .regex(/^[A-Z][A-Z0-9_]*$/, 'Name must start with an uppercase letter and contain only A-Z, 0-9 and _');

// No rule on a value's content: its messages can then never quote it.
export const secretValueSchema = z
  .string()
  .min(1, 'Value must not be empty')
  .max(SECRET_VALUE_MAX, `Value must be at most ${SECRET_VALUE_MAX} characters`);

export const createSecretInputSchema = z.object({ name: secretNameSchema, value: secretValueSchema });
export type CreateSecretInput = z.infer<typeof createSecretInputSchema>;

export const updateSecretInputSchema = z.object({ value: secretValueSchema });
export type UpdateSecretInput = z.infer<typeof updateSecretInputSchema>;

export const PAGE_SIZE_DEFAULT = 50;
export const PAGE_SIZE_MAX = 100;
export const pageSizeSchema = z
  .number()
  .int()
  .min(1, 'first must be at least 1')
  .max(PAGE_SIZE_MAX, `first must be at most ${PAGE_SIZE_MAX}`);

export const projectNameSchema = z
  .string()
  .trim()
  .min(1, 'Project name must not be empty')
  .max(100, 'Project name must be at most 100 characters');
