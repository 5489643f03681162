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

/** An audit filter's value: an id, an operation or an outcome as the log names them. */
export const auditFilterSchema = z.string().min(1, 'A filter must not be empty').max(100, 'A filter must be at most 100 characters');

/** A filter of names by their beginning: any text a name could begin with. */
export const nameStartsWithSchema = z.string().max(SECRET_NAME_MAX, `nameStartsWith must be at most ${SECRET_NAME_MAX} characters`);

// No rule on a value's content: its messages can then never quote it.
export const secretValueSchema = z.string().min(1, 'Value must not be empty').max(SECRET_VALUE_MAX, `Value must be at most ${SECRET_VALUE_MAX} characters`);

/** Printable text: no C0 or C1 control characters (newlines, escapes, NUL...). */
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f-\u009f]+$/;

// Door variants of the name rule. The store keeps whatever name a door
// accepted; each door checks names it receives against its own rule.
export const TOGETHER_NAME_MAX = 100;
export const togetherNameSchema = z
  .string()
  .min(1, 'Name must not be empty')
  .max(TOGETHER_NAME_MAX, `Name must be at most ${TOGETHER_NAME_MAX} characters`)
  .regex(/^[A-Za-z0-9_\-/.]+$/, 'Name may contain only letters, digits, _, -, / and .');

export const openHandsNameSchema = z
  .string()
  .min(1, 'Name must not be empty')
  .max(SECRET_NAME_MAX, `Name must be at most ${SECRET_NAME_MAX} characters`)
  .regex(NO_CONTROL_CHARACTERS, 'Name must not contain control characters');

export const DESCRIPTION_MAX = 500;
export const descriptionSchema = z.string().max(DESCRIPTION_MAX, `Description must be at most ${DESCRIPTION_MAX} characters`);

export const PROVIDER_MAX = 64;
export const providerSchema = z
  .string()
  .min(1, 'Provider must not be empty')
  .max(PROVIDER_MAX, `Provider must be at most ${PROVIDER_MAX} characters`)
  .regex(NO_CONTROL_CHARACTERS, 'Provider must not contain control characters');

export const createSecretInputSchema = z.object({ name: secretNameSchema, value: secretValueSchema });

export const updateSecretInputSchema = z.object({ value: secretValueSchema });

/**
 * When a secret expires: a lifetime from now (Together's `ttl_seconds`,
 * restarted by every value change), an instant (GraphQL's `expiresAt`), or
 * null for never.
 */
export type ExpiryChange = { readonly ttlSeconds: number } | { readonly at: Date } | null;

/** What the service accepts to create a secret; each door has checked its own rules. */
export interface CreateSecretInput {
  readonly name: string;
  readonly value: string;
  readonly description?: string | null | undefined;
  readonly provider?: string | null | undefined;
  readonly expiry?: ExpiryChange | undefined;
}

/** A change to a secret: absent fields stay as they are; null clears description, provider or expiry. */
export interface SecretChange {
  readonly value?: string | undefined;
  readonly name?: string | undefined;
  readonly description?: string | null | undefined;
  readonly provider?: string | null | undefined;
  readonly expiry?: ExpiryChange | undefined;
}

/** Together's TTL bounds: one day to fourteen days. */
export const TTL_SECONDS_MIN = 86_400;
export const TTL_SECONDS_MAX = 1_209_600;
export const ttlSecondsSchema = z
  .number()
  .int('ttl_seconds must be a whole number of seconds')
  .min(TTL_SECONDS_MIN, `ttl_seconds must be at least ${TTL_SECONDS_MIN} (1 day)`)
  .max(TTL_SECONDS_MAX, `ttl_seconds must be at most ${TTL_SECONDS_MAX} (14 days)`);

export const PAGE_SIZE_DEFAULT = 50;
export const PAGE_SIZE_MAX = 100;
export const pageSizeSchema = z.number().int().min(1, 'first must be at least 1').max(PAGE_SIZE_MAX, `first must be at most ${PAGE_SIZE_MAX}`);

export const environmentSlugSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'An environment slug is 1-32 characters of a-z, 0-9 and -, starting with a letter');

export const environmentNameSchema = z.string().trim().min(1, 'Environment name must not be empty').max(100, 'Environment name must be at most 100 characters');

/** A snapshot's name: free text, unique in its environment. */
export const snapshotNameSchema = z.string().trim().min(1, 'A snapshot name must not be empty').max(100, 'A snapshot name must be at most 100 characters');

/** Why a value is revealed: free text for the audit event, printable, one line. */
export const revealReasonSchema = z
  .string()
  .trim()
  .min(1, 'A reveal reason must not be empty')
  .max(200, 'A reveal reason must be at most 200 characters')
  .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'A reveal reason must be printable text on one line');

export const projectNameSchema = z.string().trim().min(1, 'Project name must not be empty').max(100, 'Project name must be at most 100 characters');

export const expectedVersionSchema = z.number().int().min(1, 'expectedVersion must be at least 1');

export const idempotencyKeySchema = z
  .string()
  .min(1, 'Idempotency key must not be empty')
  .max(255, 'Idempotency key must be at most 255 characters')
  .regex(/^[\x21-\x7e]+$/, 'Idempotency key must be printable ASCII without spaces');
