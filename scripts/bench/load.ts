// The load generator, run as its own process so that it never shares a CPU
// account with the server it measures: autocannon with a warm-up, then a
// fixed duration. Reads its job as JSON in argv[2], prints the result as JSON.
import autocannon from 'autocannon';

interface Job {
  url: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** 'create' | 'update' | 'none' | 'graphql:<kind>' | 'bao' (OpenBao's KV v2 write). In `path`, :id is a seeded id, :new a fresh name. */
  body: string;
  ids: string[];
  warmupSeconds: number;
  durationSeconds: number;
  /** Instead of a duration: exactly this many requests. */
  amount?: number;
  connections: number;
}

const job = JSON.parse(process.argv[2]!) as Job;
let n = 0;
const pick = () => job.ids[Math.floor(Math.random() * job.ids.length)]!;
const name = () => `BENCH_${process.pid}_${Date.now()}_${n++}`;

function request() {
  const id = pick();
  const path = job.path.replace(':id', id).replace(':new', () => name());
  switch (job.body) {
    case 'bao':
      return { method: job.method, path, body: JSON.stringify({ data: { value: `bench-value-${n++}` } }) };
    case 'create':
      return { method: job.method, path, body: JSON.stringify({ name: name(), value: `bench-value-${n}` }) };
    case 'update':
      return { method: job.method, path, body: JSON.stringify({ value: `bench-value-${n++}` }) };
    case 'graphql:create':
      return {
        method: 'POST',
        path,
        body: JSON.stringify({
          query:
            'mutation($n: String!, $v: String!) { createSecret(input: {name: $n, value: $v}) { __typename ... on CreateSecretSuccess { secret { id name createdAt } } } }',
          variables: { n: name(), v: `bench-value-${n}` },
        }),
      };
    case 'graphql:update':
      return {
        method: 'POST',
        path,
        body: JSON.stringify({
          query:
            'mutation($id: ID!, $v: String!) { updateSecret(id: $id, input: {value: $v}) { __typename ... on UpdateSecretSuccess { secret { id version updatedAt } } } }',
          variables: { id, v: `bench-value-${n++}` },
        }),
      };
    case 'graphql:get':
      return {
        method: 'POST',
        path,
        body: JSON.stringify({ query: 'query($id: ID!) { secret(id: $id) { id name version createdAt updatedAt } }', variables: { id } }),
      };
    case 'graphql:list':
      return {
        method: 'POST',
        path,
        body: JSON.stringify({ query: '{ secrets(first: 50) { edges { node { id name updatedAt } } pageInfo { hasNextPage endCursor } } }' }),
      };
    default:
      return { method: job.method, path };
  }
}

async function run(seconds: number) {
  return autocannon({
    url: job.url,
    connections: job.connections,
    ...(job.amount ? { amount: job.amount } : { duration: seconds }),
    headers: { 'content-type': 'application/json', ...job.headers },
    requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, ...request() }) as autocannon.Request }],
  });
}

if (job.warmupSeconds > 0) await run(job.warmupSeconds);
const result = await run(job.durationSeconds);
console.log(
  JSON.stringify({
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    durationSeconds: job.durationSeconds,
  }),
);
