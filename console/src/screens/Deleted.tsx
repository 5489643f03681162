// The deleted secrets of an environment still in their recovery window,
// newest deletion first, each restorable until its window ends.
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { isFailure } from '../api.ts';
import { useMutation, useQuery } from '../data.ts';
import { FailureFields } from '../operations.ts';
import { graphql } from '../graphql.ts';
import { missing, useSession } from '../session.tsx';
import { Notice, Pager, Time, usePager } from '../ui.tsx';

const PAGE_SIZE = 50;

const DeletedSecretsQuery = graphql(`
  query DeletedSecrets($environment: String, $first: Int, $after: String) {
    deletedSecrets(environment: $environment, first: $first, after: $after) {
      edges {
        node {
          id
          name
          version
          deletedAt
          restorableUntil
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const RestoreSecret = graphql(
  `
    mutation RestoreSecret($environment: String, $id: ID!) {
      restoreSecret(environment: $environment, id: $id) {
        __typename
        ... on RestoreSecretSuccess {
          secret {
            id
            name
            version
          }
        }
        ...Failure
      }
    }
  `,
  [FailureFields],
);

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** How long a deleted secret can still be restored: days, or hours under a day. */
function restorableFor(until: string | null | undefined, now = Date.now()): string {
  if (!until) return '—';
  const ms = new Date(until).getTime() - now;
  if (ms <= 0) return 'no longer';
  if (ms >= DAY) {
    const days = Math.ceil(ms / DAY);
    return `${days} ${days === 1 ? 'day' : 'days'}`;
  }
  const hours = Math.ceil(ms / HOUR);
  return `${hours} ${hours === 1 ? 'hour' : 'hours'}`;
}

export function Deleted() {
  const env = useParams().env!;
  const session = useSession();
  const readReason = missing(session, 'secrets:read');
  const writeReason = missing(session, 'secrets:write');
  const pager = usePager(env);
  const list = useQuery(DeletedSecretsQuery, { environment: env, first: PAGE_SIZE, after: pager.after }, readReason !== null);
  const [restore, restoring] = useMutation(RestoreSecret);
  const [restored, setRestored] = useState<{ id: string; name: string; version: number; env: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<string | null>(null);

  if (readReason) return <Notice kind="info">{readReason}</Notice>;

  async function run(id: string) {
    setError(null);
    setRestored(null);
    setPending(id);
    const result = await restore({ environment: env, id });
    setPending(null);
    if ('error' in result) return setError(result.error);
    const answer = result.data.restoreSecret;
    if (answer.__typename === 'RestoreSecretSuccess' && 'secret' in answer) {
      setRestored({ ...answer.secret, env });
      list.reload();
      return;
    }
    if (isFailure(answer)) {
      const fields = answer.fields?.map((f) => f.message).join('; ');
      setError(fields ? `${answer.message} ${fields}` : answer.message);
    }
  }

  const edges = list.data?.deletedSecrets.edges ?? [];
  const now = Date.now();
  return (
    <section>
      <div className="heading">
        <h1>
          Deleted secrets <span className="muted">in {env}</span>
        </h1>
        {writeReason ? (
          <span className="muted" title={writeReason}>
            {writeReason}
          </span>
        ) : null}
      </div>
      <p className="muted">A deleted secret can be restored, with its versions, until its recovery window ends; then it is purged.</p>
      {restored ? (
        <Notice kind="ok">
          Restored{' '}
          <Link to={`/e/${encodeURIComponent(restored.env)}/secrets/${restored.id}`}>
            <code>{restored.name}</code>
          </Link>{' '}
          (v{restored.version}).
        </Notice>
      ) : null}
      <Notice kind="error">{error}</Notice>
      <Notice kind="error">{list.error}</Notice>
      <div className="table-wrap">
        <table aria-busy={list.loading}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Version</th>
              <th scope="col">Deleted</th>
              <th scope="col">Restorable for</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {edges.map(({ node }) => (
              <tr key={node.id}>
                <td data-label="Name">
                  <code>{node.name}</code>
                </td>
                <td data-label="Version">v{node.version}</td>
                <td data-label="Deleted">
                  <Time at={node.deletedAt} />
                </td>
                <td data-label="Restorable for">
                  {node.restorableUntil ? (
                    <span title={`Until ${new Date(node.restorableUntil).toLocaleString()}`}>{restorableFor(node.restorableUntil, now)}</span>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td data-label="Actions">
                  <button
                    type="button"
                    aria-label={`Restore ${node.name}`}
                    disabled={writeReason !== null || restoring}
                    title={writeReason ?? undefined}
                    aria-busy={pending === node.id}
                    onClick={() => void run(node.id)}
                  >
                    {pending === node.id ? 'Restoring…' : 'Restore'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {!list.loading && !list.error && edges.length === 0 ? <p className="empty">No deleted secrets in {env} within their recovery window.</p> : null}
      </div>
      <Pager
        page={pager.page}
        hasNext={list.data?.deletedSecrets.pageInfo.hasNextPage ?? false}
        onPrevious={pager.previous}
        onNext={() => pager.next(list.data?.deletedSecrets.pageInfo.endCursor)}
      />
    </section>
  );
}
