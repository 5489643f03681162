// The webhooks' signing secrets, sealed like secret values, for master-key
// rotation: one sealed value per webhook document (id "webhook:<webhookId>",
// its context's secretId), immutable but for its re-wraps, replaced by _id.
import type { Collection } from 'mongodb';
import { Types } from 'mongoose';
import { updateInCommands } from '../db/bulk.ts';
import type { Models } from '../db/models/index.ts';
import { sealedBytesOf } from '../db/models/secret-version.ts';
import type { WebhookDoc } from '../db/models/webhook.ts';
import type { SealStore } from '../secrets/store.ts';
import { secretContextOf } from './service.ts';

export function createWebhookSealStore(models: Pick<Models, 'Webhook'>): SealStore {
  const webhooks = models.Webhook.collection as unknown as Collection<WebhookDoc>;
  /** A seal's id is its context's secretId, "webhook:<webhookId>". */
  const webhookIdOf = (sealId: string) => new Types.ObjectId(sealId.slice('webhook:'.length));
  return {
    async countByKey(activeId) {
      const rows = await webhooks
        .aggregate<{ _id: string; count: number }>([
          { $match: { 'secret.keyId': { $ne: activeId, $exists: true } } },
          { $group: { _id: '$secret.keyId', count: { $sum: 1 } } },
        ])
        .toArray();
      return Object.fromEntries(rows.map((r) => [r._id, r.count]));
    },

    async under(keyIds, size, skip) {
      const stale = await webhooks
        .find({ 'secret.keyId': { $in: [...keyIds] }, _id: { $nin: skip.map(webhookIdOf) } })
        .limit(size)
        .toArray();
      return stale.map((hook) => {
        const context = secretContextOf(hook);
        return { id: context.secretId, value: { context, sealed: sealedBytesOf(hook.secret) } };
      });
    },

    async replace(replacements) {
      return updateInCommands(
        webhooks,
        replacements.map(({ seal, sealed }) => ({
          updateOne: { filter: { _id: webhookIdOf(seal.id) }, update: { $set: { secret: { ...sealed } } } },
        })),
      );
    },
  };
}
