// Workload identities (needs keys:manage) and the login with a platform's
// token, the one operation that needs no API key.
import { ForbiddenError } from '../../auth/errors.ts';
import { SCOPES, type Scope, scopesSchema } from '../../auth/scopes.ts';
import { TokenRefusedError } from '../../identities/oidc.ts';
import {
  audiencesSchema,
  claimPatternsSchema,
  DEFAULT_MAX_TTL_SECONDS,
  identityIdSchema,
  identityNameSchema,
  issuerSchema,
  maxTtlSecondsSchema,
  oidcTokenSchema,
  subjectPatternSchema,
} from '../../identities/rules.ts';
import type { IdentityInfo, OidcLogin } from '../../identities/service.ts';
import { ConflictError, NotFoundError } from '../../secrets/errors.ts';
import { environmentSlugSchema } from '../../secrets/rules.ts';
import { builder } from '../builder.ts';
import { InputValidationError, inGraphQLTerms } from '../validation-error.ts';

const ClaimPattern = builder.objectRef<{ claim: string; pattern: string }>('ClaimPattern').implement({
  description: 'A claim a token must carry, exactly or by a glob (* stands for any run of characters).',
  fields: (t) => ({
    claim: t.exposeString('claim', { description: 'A claim name (repository), or a JSON pointer into the claims (/kubernetes.io/namespace).' }),
    pattern: t.exposeString('pattern'),
  }),
});

const Identity = builder.objectRef<IdentityInfo>('Identity').implement({
  description: "Which tokens of an OpenID issuer may sign in (loginWithOidc, POST /api/auth/oidc), and the key they get: the project's workload identity.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'What a login names (secrets login --oidc ID).' }),
    name: t.exposeString('name'),
    issuer: t.exposeString('issuer', { description: "The issuer's URL, as its tokens' iss claim says it." }),
    audiences: t.exposeStringList('audiences', { description: "A token's aud must hold one of these." }),
    subject: t.exposeString('subject', { description: "What a token's sub must be: exact, or a glob (repo:acme/app:ref:refs/heads/*)." }),
    claims: t.field({ type: [ClaimPattern], resolve: (identity) => [...identity.claims] }),
    environment: t.exposeString('environment', { nullable: true, description: 'The environment its keys are bound to (null: unbound).' }),
    scopes: t.exposeStringList('scopes', { description: SCOPES.join(', ') }),
    maxTtlSeconds: t.exposeInt('maxTtlSeconds', { description: "Its keys' longest life; never past the token's own expiry." }),
    requireRevealReason: t.exposeBoolean('requireRevealReason', { description: 'Its keys must give reasons for reveals (as the key that made it must).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const ClaimPatternInput = builder.inputType('ClaimPatternInput', {
  fields: (t) => ({ claim: t.string({ required: true }), pattern: t.string({ required: true }) }),
});

const CreateIdentityInput = builder.inputType('CreateIdentityInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: { schema: identityNameSchema } }),
    issuer: t.string({
      required: true,
      description: "https://token.actions.githubusercontent.com, a cluster's issuer, ...: https (http only where OIDC_ALLOWED_ISSUERS names it).",
      validate: { schema: issuerSchema },
    }),
    audiences: t.stringList({ required: true, validate: { schema: audiencesSchema } }),
    subject: t.string({ required: true, validate: { schema: subjectPatternSchema } }),
    claims: t.field({ type: [ClaimPatternInput], validate: { schema: claimPatternsSchema } }),
    environment: t.string({ description: 'Bind its keys to this environment (recommended).', validate: { schema: environmentSlugSchema } }),
    scopes: t.stringList({ required: true, validate: { schema: scopesSchema } }),
    maxTtlSeconds: t.int({
      description: `Its keys' longest life, 60 to 86400 (default ${DEFAULT_MAX_TTL_SECONDS}).`,
      validate: { schema: maxTtlSecondsSchema },
    }),
  }),
});

const DeleteIdentitySuccess = builder.objectRef<{ identity: IdentityInfo; revokedKeys: number }>('DeleteIdentitySuccess').implement({
  fields: (t) => ({
    identity: t.field({ type: Identity, resolve: (result) => result.identity }),
    revokedKeys: t.exposeInt('revokedKeys', { description: 'Keys it had issued that were still live: revoked now (on every node within 2 s).' }),
  }),
});

const OidcLoginSuccess = builder.objectRef<OidcLogin>('OidcLoginSuccess').implement({
  fields: (t) => ({
    apiKey: t.exposeString('apiKey', { description: 'The key: shown this once, stored only as a hash.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: "At most maxTtlSeconds from now, and never after the token's own expiry." }),
    keyId: t.exposeID('keyId'),
    environment: t.exposeString('environment', { nullable: true }),
    scopes: t.exposeStringList('scopes'),
  }),
});

builder.queryField('identities', (t) =>
  t.field({
    type: [Identity],
    description: "The project's workload identities, oldest first (needs keys:manage; a bound key sees its environment's).",
    resolve: (_root, _args, ctx) => ctx.identities.list(ctx.caller),
  }),
);

builder.mutationFields((t) => ({
  createIdentity: t.field({
    type: Identity,
    description: 'Trusts tokens of an OpenID issuer whose subject and claims match (needs keys:manage; it grants no scope its maker lacks).',
    args: { input: t.arg({ type: CreateIdentityInput, required: true }) },
    errors: {
      types: [InputValidationError, NotFoundError, ForbiddenError, ConflictError],
      result: { name: 'CreateIdentitySuccess' },
      union: { name: 'CreateIdentityResult' },
      dataField: { name: 'identity' },
    },
    resolve: (_root, { input }, ctx) =>
      inGraphQLTerms(
        ctx.identities.create(ctx.caller, {
          name: input.name,
          issuer: input.issuer,
          audiences: input.audiences,
          subject: input.subject,
          claims: input.claims ?? [],
          environment: input.environment ?? null,
          scopes: input.scopes as Scope[],
          maxTtlSeconds: input.maxTtlSeconds ?? DEFAULT_MAX_TTL_SECONDS,
        }),
        ['input'],
      ),
  }),
  deleteIdentity: t.field({
    type: DeleteIdentitySuccess,
    description: 'Deletes an identity: no more logins, and every key it issued is revoked (needs keys:manage).',
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, ForbiddenError], directResult: true, union: { name: 'DeleteIdentityResult' } },
    resolve: (_root, { id }, ctx) => ctx.identities.delete(ctx.caller, id),
  }),
  loginWithOidc: t.field({
    type: OidcLoginSuccess,
    description:
      "Trades a platform's token (GitHub Actions, Kubernetes, GitLab) for a short-lived API key of the identity. Needs no API key. A token the identity does not accept: TokenRefusedError; a subject or claim that is not the identity's: ForbiddenError.",
    args: {
      identity: t.arg.id({ required: true, validate: { schema: identityIdSchema } }),
      token: t.arg.string({ required: true, validate: { schema: oidcTokenSchema } }),
    },
    errors: { types: [InputValidationError, TokenRefusedError, ForbiddenError], directResult: true, union: { name: 'LoginWithOidcResult' } },
    resolve: (_root, args, ctx) => inGraphQLTerms(ctx.loginWithOidc(args), []),
  }),
}));
