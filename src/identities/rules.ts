// What an identity's fields and a login's may be, for every door.
import { z } from 'zod';

export const identityNameSchema = z.string().trim().min(1, 'Name must not be empty').max(100, 'Name must be at most 100 characters');

export const issuerSchema = z.string().trim().min(1, 'The issuer must not be empty').max(500, 'The issuer must be at most 500 characters');

export const audiencesSchema = z
  .array(z.string().min(1, 'An audience must not be empty').max(500, 'An audience must be at most 500 characters'))
  .min(1, 'Name at least one audience: a token must be meant for this service')
  .max(20, 'At most 20 audiences');

/** A pattern of nothing but `*` would let in every token of the issuer (on GitHub: every repository's). */
const namesSomething = (pattern: string) => pattern.replace(/\*/g, '') !== '';

export const subjectPatternSchema = z
  .string()
  .min(1, 'The subject must not be empty')
  .max(500, 'The subject must be at most 500 characters')
  .refine(namesSomething, 'The subject must name something: a subject of only * would accept every token of the issuer');

export const claimPatternsSchema = z
  .array(
    z.object({
      claim: z.string().min(1, 'A claim name must not be empty').max(200, 'A claim name must be at most 200 characters'),
      pattern: z
        .string()
        .min(1, 'A claim pattern must not be empty')
        .max(500, 'A claim pattern must be at most 500 characters')
        .refine(namesSomething, 'A claim pattern of only * asks nothing: leave the claim out'),
    }),
  )
  .max(20, 'At most 20 claims');

/** An issued key's longest life: at most a day (a login is cheap; the key should not outlive the job). */
export const MAX_TTL_SECONDS_LIMIT = 86_400;
export const DEFAULT_MAX_TTL_SECONDS = 3_600;

export const maxTtlSecondsSchema = z
  .number()
  .int('maxTtlSeconds must be a whole number')
  .min(60, 'maxTtlSeconds must be at least 60')
  .max(MAX_TTL_SECONDS_LIMIT, `maxTtlSeconds must be at most ${MAX_TTL_SECONDS_LIMIT} (a day)`);

export const identityIdSchema = z.string().min(1, 'identity must not be empty').max(100, 'identity must be at most 100 characters');

/** A JWT of a CI job or a pod is a few kilobytes; 16 KiB leaves room. */
export const oidcTokenSchema = z.string().min(1, 'token must not be empty').max(16_384, 'token must be at most 16384 characters');
