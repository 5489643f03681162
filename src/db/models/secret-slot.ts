import { type Connection, type InferSchemaType, Schema, type Types } from 'mongoose';

// Quota slots: a live secret holds one of its project's slots 0..limit-1.
// Counting and then inserting lets racing creates overshoot a limit; an
// insert under the unique (projectId, slot) index does not: of 20 creates
// racing for the last free slot, exactly one inserts it.
const secretSlotSchema = new Schema(
  {
    projectId: { type: Schema.Types.ObjectId, required: true },
    slot: { type: Number, required: true },
    secretId: { type: Schema.Types.ObjectId, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'secret_slots', versionKey: false, autoIndex: false },
);
secretSlotSchema.index({ projectId: 1, slot: 1 }, { unique: true });
secretSlotSchema.index({ secretId: 1 });

export type SecretSlotDoc = InferSchemaType<typeof secretSlotSchema> & { _id: Types.ObjectId };

export function secretSlotModel(connection: Connection) {
  return connection.model('SecretSlot', secretSlotSchema);
}
