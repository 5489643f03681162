// What an API key may do. Admin-made and development keys have them all
// (keys made before webhooks:manage existed manage webhooks with keys:manage).
import { z } from 'zod';
import { ForbiddenError } from './errors.ts';

export const SCOPES = ['secrets:read', 'secrets:write', 'secrets:reveal', 'keys:manage', 'webhooks:manage'] as const;
export type Scope = (typeof SCOPES)[number];

export const scopesSchema = z
  .array(z.enum(SCOPES, { message: `Scopes are ${SCOPES.join(', ')}` }))
  .min(1, 'A key needs at least one scope')
  .transform((scopes) => [...new Set(scopes)]);

/** Throws ForbiddenError unless the caller's key has every scope it would give to `recipient` ("a key it creates", "an identity"). */
export function requireScopesHeld(caller: { readonly scopes: readonly Scope[] }, scopes: readonly Scope[], recipient: string): void {
  for (const scope of scopes) {
    if (!caller.scopes.includes(scope)) throw new ForbiddenError(scope, `This API key lacks the ${scope} scope, so it cannot give it to ${recipient}`);
  }
}

/** Throws ForbiddenError unless the caller's key has `scope`. */
export function requireScope(caller: { readonly scopes: readonly Scope[] }, scope: Scope): void {
  if (!caller.scopes.includes(scope)) throw new ForbiddenError(scope);
}
