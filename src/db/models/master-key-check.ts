import { type Connection, Schema } from 'mongoose';

// One document per master key id: a fixed text sealed under that key the
// first time a node used the id. A node whose key for the id does not open it
// holds another key than the nodes that wrote with it, and refuses to start.
const masterKeyCheckSchema = new Schema(
  {
    _id: { type: String, required: true },
    wrappedKey: { type: Buffer, required: true },
    ciphertext: { type: Buffer, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'master_key_checks', versionKey: false, autoIndex: false },
);

export function masterKeyCheckModel(connection: Connection) {
  return connection.model('MasterKeyCheck', masterKeyCheckSchema);
}
