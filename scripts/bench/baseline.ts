// The floor for our overhead: a bare node:http server with the same MongoDB
// driver doing the same work per request as the service (key lookup by hash,
// the same envelope encryption, the same inserts, updates and finds), with no
// framework, no GraphQL, no validation library and none of the lifecycle
// features. Started by scripts/bench.ts; not part of the service.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { MongoClient, ObjectId } from 'mongodb';
import { hashApiKey } from '../../src/auth/api-key.ts';
import { createKeyring, openValue, sealValue } from '../../src/crypto/envelope.ts';

const uri = process.env.BENCH_MONGODB_URI!;
const dbName = process.env.BENCH_DB!;
const keyring = createKeyring('default', [['default', Buffer.from(process.env.BENCH_MASTER_KEY!, 'base64')]]);

const client = new MongoClient(uri, { monitorCommands: true });
let commands = 0;
client.on('commandStarted', () => {
  commands += 1;
});
await client.connect();
const db = client.db(dbName);
const apiKeys = db.collection('api_keys');
const secrets = db.collection('secrets');
const versions = db.collection('secret_versions');

const publicFields = { projectId: 1, name: 1, version: 1, createdAt: 1, updatedAt: 1 };
const toJson = (d: Record<string, any>) => ({
  id: d._id.toHexString(),
  projectId: d.projectId.toHexString(),
  name: d.name,
  createdAt: d.createdAt.toISOString(),
  updatedAt: d.updatedAt.toISOString(),
});

async function body(req: IncomingMessage): Promise<any> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return JSON.parse(text);
}

function send(res: ServerResponse, status: number, payload: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url!, 'http://x');
  if (url.pathname === '/stats') return send(res, 200, { commands });
  const key = await apiKeys.findOne({ hash: hashApiKey(String(req.headers['x-auth-token'])) }, { projection: { projectId: 1 } });
  if (!key) return send(res, 401, { error: 'Unauthorized' });
  const projectId = key.projectId as ObjectId;
  const match = url.pathname.match(/^\/secrets(?:\/([0-9a-f]{24}))?(\/value)?$/);
  if (!match) return send(res, 404, { error: 'not found' });
  const id = match[1];
  if (req.method === 'POST' && !id) {
    const { name, value } = await body(req);
    if (typeof name !== 'string' || typeof value !== 'string') return send(res, 422, { error: 'validation_error' });
    const _id = new ObjectId();
    const at = new Date();
    const sealed = sealValue(keyring, value, { projectId: projectId.toHexString(), secretId: _id.toHexString(), version: 1 });
    await versions.insertOne({ projectId, secretId: _id, version: 1, ...sealed, createdAt: at, createdBy: 'bench' });
    const doc = { _id, projectId, name, version: 1, createdBy: 'bench', lastUpdatedBy: 'bench', createdAt: at, updatedAt: at, deletedAt: null };
    await secrets.insertOne(doc);
    return send(res, 201, toJson(doc));
  }
  if (req.method === 'PUT' && id) {
    const { value } = await body(req);
    if (typeof value !== 'string') return send(res, 422, { error: 'validation_error' });
    const doc = await secrets.findOne({ _id: new ObjectId(id), projectId }, { projection: publicFields });
    if (!doc) return send(res, 404, { error: 'Secret not found' });
    const at = new Date();
    const version = doc.version + 1;
    const sealed = sealValue(keyring, value, { projectId: projectId.toHexString(), secretId: id, version });
    await versions.insertOne({ projectId, secretId: doc._id, version, ...sealed, createdAt: at, createdBy: 'bench' });
    await secrets.updateOne({ _id: doc._id }, { $set: { version, updatedAt: at } });
    return send(res, 200, toJson({ ...doc, version, updatedAt: at }));
  }
  if (req.method === 'GET' && id && match[2]) {
    const doc = await secrets.findOne({ _id: new ObjectId(id), projectId }, { projection: publicFields });
    if (!doc) return send(res, 404, { error: 'Secret not found' });
    const v = await versions.findOne({ secretId: doc._id, version: doc.version });
    if (!v) return send(res, 404, { error: 'Secret not found' });
    const value = openValue(
      keyring,
      { keyId: v.keyId, wrappedKey: Buffer.from(v.wrappedKey.buffer), ciphertext: Buffer.from(v.ciphertext.buffer) },
      { projectId: projectId.toHexString(), secretId: id, version: doc.version },
    );
    return send(res, 200, { value });
  }
  if (req.method === 'GET' && id) {
    const doc = await secrets.findOne({ _id: new ObjectId(id), projectId }, { projection: publicFields });
    return doc ? send(res, 200, toJson(doc)) : send(res, 404, { error: 'Secret not found' });
  }
  if (req.method === 'GET') {
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const docs = await secrets.find({ projectId, deletedAt: null }, { projection: publicFields }).sort({ name: 1 }).limit(limit).toArray();
    return send(res, 200, docs.map(toJson));
  }
  return send(res, 405, { error: 'method not allowed' });
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => send(res, 500, { error: 'internal' }));
});
server.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1', () => {
  const address = server.address() as { port: number };
  console.log(`baseline ready on http://127.0.0.1:${address.port}`);
});
process.on('SIGTERM', () => {
  server.close();
  void client.close().then(() => process.exit(0));
});
