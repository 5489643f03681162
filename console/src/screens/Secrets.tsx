// Screen 1: the secrets of an environment, a page at a time, filtered by the
// beginning of their name on the server, and live: another client's change
// reloads the page through secretEvents.
import { useEffect, useRef, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { useQuery } from '../data.ts';
import { graphql } from '../graphql.ts';
import { useSecretEvents, type SecretEvent } from '../live.ts';
import { missing, useSession } from '../session.tsx';
import { Notice, Pager, relative, Time, usePager } from '../ui.tsx';

export const PAGE_SIZE = 50;

const SecretsQuery = graphql(`
  query Secrets($environment: String, $first: Int, $after: String, $prefix: String) {
    secrets(environment: $environment, first: $first, after: $after, nameStartsWith: $prefix) {
      edges {
        node {
          id
          name
          description
          version
          updatedAt
          expiresAt
          provider
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export function Secrets() {
  const env = useParams().env!;
  const session = useSession();
  const [search, setSearch] = useSearchParams();
  const prefix = search.get('q') ?? '';
  const [typed, setTyped] = useState(prefix);
  const pager = usePager(`${env}|${prefix}`);
  const list = useQuery(SecretsQuery, { environment: env, first: PAGE_SIZE, after: pager.after, prefix: prefix || null }, !session.can('secrets:read'));
  const [lastEvent, setLastEvent] = useState<SecretEvent | null>(null);
  const reloadSoon = useRef<ReturnType<typeof setTimeout>>(undefined);

  // The filter follows typing, a moment after it stops; it lives in the URL so a link can be shared.
  useEffect(() => {
    const t = setTimeout(() => {
      if (typed !== prefix) setSearch(typed ? { q: typed } : {}, { replace: true });
    }, 250);
    return () => clearTimeout(t);
  }, [typed, prefix, setSearch]);

  useSecretEvents(session.key, env, (event) => {
    setLastEvent(event);
    clearTimeout(reloadSoon.current);
    reloadSoon.current = setTimeout(list.reload, 100);
  });

  const cannotRead = missing(session, 'secrets:read');
  if (cannotRead) return <Notice kind="info">{cannotRead}</Notice>;
  const edges = list.data?.secrets.edges ?? [];
  const writeReason = missing(session, 'secrets:write');
  return (
    <section>
      <div className="heading">
        <h1>
          Secrets <span className="muted">in {env}</span>
        </h1>
        {writeReason ? (
          <span className="muted" title={writeReason}>
            {writeReason}
          </span>
        ) : (
          <Link className="button primary" to={`/e/${encodeURIComponent(env)}/secrets/new`}>
            New secret
          </Link>
        )}
      </div>
      <div className="toolbar">
        <label className="filter">
          <span>Filter by name</span>
          <input type="search" value={typed} placeholder="Names starting with…" spellCheck={false} onChange={(e) => setTyped(e.target.value)} />
        </label>
        <span className="live" role="status" aria-live="polite">
          <span className="dot" aria-hidden="true" /> Live
          {lastEvent ? (
            <span className="muted">
              {' '}
              · {lastEvent.secret.name} {lastEvent.type.toLowerCase()} (v{lastEvent.secret.version})
            </span>
          ) : null}
        </span>
      </div>
      <Notice kind="error">{list.error}</Notice>
      <div className="table-wrap">
        <table aria-busy={list.loading}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Version</th>
              <th scope="col">Updated</th>
              <th scope="col">Expires</th>
              <th scope="col">Provider</th>
            </tr>
          </thead>
          <tbody>
            {edges.map(({ node }) => (
              <tr key={node.id} className={lastEvent?.secret.id === node.id ? 'changed' : undefined}>
                <td data-label="Name">
                  <Link to={`/e/${encodeURIComponent(env)}/secrets/${node.id}`}>
                    <code>{node.name}</code>
                  </Link>
                </td>
                <td data-label="Description">{node.description ?? <span className="muted">—</span>}</td>
                <td data-label="Version">v{node.version}</td>
                <td data-label="Updated">
                  <Time at={node.updatedAt} />
                </td>
                <td data-label="Expires">
                  {node.expiresAt ? (
                    <span title={new Date(node.expiresAt).toLocaleString()}>{relative(node.expiresAt)}</span>
                  ) : (
                    <span className="muted">never</span>
                  )}
                </td>
                <td data-label="Provider">{node.provider ?? <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!list.loading && edges.length === 0 ? (
          <p className="empty">{prefix ? `No secret's name starts with “${prefix}”.` : 'No secrets in this environment yet.'}</p>
        ) : null}
      </div>
      <Pager
        page={pager.page}
        hasNext={list.data?.secrets.pageInfo.hasNextPage ?? false}
        onPrevious={pager.previous}
        onNext={() => pager.next(list.data?.secrets.pageInfo.endCursor)}
      />
    </section>
  );
}
