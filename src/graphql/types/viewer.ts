// What the calling API key is and may do: for a client (the console, a CLI)
// to show its user, and to leave out what the key may not use. Any valid key
// may ask; it tells nothing the key's holder could not learn by trying.
import { SCOPES } from '../../auth/scopes.ts';
import type { Actor } from '../../auth/caller.ts';
import { builder } from '../builder.ts';

const Viewer = builder.objectRef<Actor>('Viewer').implement({
  description: 'The API key a request is made with: its project, scopes, environment binding and expiry.',
  fields: (t) => ({
    keyId: t.exposeID('keyId', { description: 'The id of the key (as in apiKeys and audit events).' }),
    projectId: t.exposeID('projectId'),
    scopes: t.stringList({ description: `What the key may do: some of ${SCOPES.join(', ')}.`, resolve: (actor) => [...actor.scopes] }),
    environment: t.string({
      nullable: true,
      description: 'The environment the key is bound to (it can name no other); null: unbound.',
      resolve: (actor) => actor.boundEnvironment,
    }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, description: 'When the key stops working; null: never.', resolve: (actor) => actor.keyExpiresAt }),
    requireRevealReason: t.exposeBoolean('requireRevealReason', { description: 'Its reveals must say why (reason:, X-Reveal-Reason, --reason).' }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: Viewer,
    description: 'The calling API key: what it is and may do. Needs no scope.',
    resolve: (_root, _args, ctx) => ctx.caller,
  }),
);
