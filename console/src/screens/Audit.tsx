// Screen: the project's audit events, newest first, a page at a time. The
// filters live in the URL (since and until as ISO instants), so a filtered
// view can be shared as a link. An event never holds a value or a key.
import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useQuery } from '../data.ts';
import { graphql } from '../graphql.ts';
import { missing, useSession } from '../session.tsx';
import { isoFromLocal, localFromIso, Notice, Pager, Time, usePager } from '../ui.tsx';

export const PAGE_SIZE = 50;

const AuditQuery = graphql(`
  query AuditEvents($first: Int, $after: String, $secretId: ID, $keyId: String, $operation: String, $outcome: String, $since: DateTime, $until: DateTime) {
    auditEvents(first: $first, after: $after, secretId: $secretId, keyId: $keyId, operation: $operation, outcome: $outcome, since: $since, until: $until) {
      edges {
        node {
          id
          at
          door
          environment
          keyId
          operation
          outcome
          reason
          requestId
          secretId
          secretName
          version
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const KeysQuery = graphql(`
  query AuditKeys {
    apiKeys(first: 100) {
      edges {
        node {
          id
          name
          prefix
        }
      }
    }
  }
`);

const OPERATIONS = [
  'create',
  'update',
  'update_metadata',
  'delete',
  'restore',
  'reveal',
  'compare_values',
  'expire',
  'create_project',
  'create_environment',
  'update_environment',
  'delete_environment',
];
const OUTCOMES = [
  'success',
  'replayed',
  'not_found',
  'conflict',
  'forbidden',
  'quota_exceeded',
  'version_mismatch',
  'unreadable',
  'expired',
  'idempotency_key_reused',
  'unauthenticated',
];
const GOOD_OUTCOMES = ['success', 'replayed'];

/** The URL's filter names: ?secret=&key=&operation=&outcome=&since=&until= */
type FilterName = 'secret' | 'key' | 'operation' | 'outcome' | 'since' | 'until';
const FILTERS: FilterName[] = ['secret', 'key', 'operation', 'outcome', 'since', 'until'];

/** An ISO instant from the URL, or null when it is absent or not a time. */
function instant(text: string | null): string | null {
  if (!text) return null;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Options for a select: the known ones, and the URL's value when it is not one of them. */
function withCurrent(known: string[], current: string): string[] {
  return current && !known.includes(current) ? [...known, current] : known;
}

export function Audit() {
  const session = useSession();
  const [search, setSearch] = useSearchParams();
  const value = (name: FilterName) => search.get(name) ?? '';
  const filters = Object.fromEntries(FILTERS.map((name) => [name, value(name)])) as Record<FilterName, string>;
  const filtersString = FILTERS.map((name) => `${name}=${filters[name]}`).join('&');
  const pager = usePager(filtersString);
  const cannotRead = !session.can('secrets:read');
  const canManageKeys = session.can('keys:manage');
  const events = useQuery(
    AuditQuery,
    {
      first: PAGE_SIZE,
      after: pager.after,
      secretId: filters.secret || null,
      keyId: filters.key || null,
      operation: filters.operation || null,
      outcome: filters.outcome || null,
      since: instant(filters.since),
      until: instant(filters.until),
    },
    cannotRead,
  );
  const keys = useQuery(KeysQuery, {}, cannotRead || !canManageKeys);

  const setFilter = (name: FilterName, to: string) =>
    setSearch(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (to) next.set(name, to);
        else next.delete(name);
        return next;
      },
      { replace: true },
    );

  // The text filters follow typing, a moment after it stops.
  const [secretTyped, setSecretTyped] = useTyped(filters.secret, (to) => setFilter('secret', to));
  const [keyTyped, setKeyTyped] = useTyped(filters.key, (to) => setFilter('key', to));

  const readReason = missing(session, 'secrets:read');
  if (readReason) return <Notice kind="info">{readReason}</Notice>;

  const edges = events.data?.auditEvents.edges ?? [];
  const keyOptions = keys.data?.apiKeys.edges.map(({ node }) => node) ?? [];
  const anyFilter = FILTERS.some((name) => filters[name] !== '');
  return (
    <section>
      <h1>Audit</h1>
      <div className="toolbar">
        <label className="filter">
          <span>Secret id</span>
          <input type="search" value={secretTyped} spellCheck={false} autoComplete="off" onChange={(e) => setSecretTyped(e.target.value)} />
        </label>
        {canManageKeys ? (
          <label className="filter">
            <span>Key</span>
            <select value={filters.key} onChange={(e) => setFilter('key', e.target.value)}>
              <option value="">any</option>
              {keyOptions.map((key) => (
                <option key={key.id} value={key.id}>
                  {key.name} ({key.prefix}…)
                </option>
              ))}
              {filters.key && !keyOptions.some((key) => key.id === filters.key) ? <option value={filters.key}>{filters.key}</option> : null}
            </select>
          </label>
        ) : (
          <label className="filter">
            <span>Key id</span>
            <input type="search" value={keyTyped} spellCheck={false} autoComplete="off" onChange={(e) => setKeyTyped(e.target.value)} />
          </label>
        )}
        <label className="filter">
          <span>Operation</span>
          <select value={filters.operation} onChange={(e) => setFilter('operation', e.target.value)}>
            <option value="">any</option>
            {withCurrent(OPERATIONS, filters.operation).map((op) => (
              <option key={op} value={op}>
                {op}
              </option>
            ))}
          </select>
        </label>
        <label className="filter">
          <span>Outcome</span>
          <select value={filters.outcome} onChange={(e) => setFilter('outcome', e.target.value)}>
            <option value="">any</option>
            {withCurrent(OUTCOMES, filters.outcome).map((outcome) => (
              <option key={outcome} value={outcome}>
                {outcome}
              </option>
            ))}
          </select>
        </label>
        <label className="filter">
          <span>Since</span>
          <input type="datetime-local" value={localFromIso(instant(filters.since))} onChange={(e) => setFilter('since', isoFromLocal(e.target.value) ?? '')} />
        </label>
        <label className="filter">
          <span>Until</span>
          <input type="datetime-local" value={localFromIso(instant(filters.until))} onChange={(e) => setFilter('until', isoFromLocal(e.target.value) ?? '')} />
        </label>
        {anyFilter ? (
          <button
            type="button"
            onClick={() => {
              setSecretTyped('');
              setKeyTyped('');
              setSearch({}, { replace: true });
            }}
          >
            Clear filters
          </button>
        ) : null}
      </div>
      <Notice kind="error">{events.error}</Notice>
      <Notice kind="error">{keys.error}</Notice>
      <div className="table-wrap">
        <table aria-busy={events.loading}>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Operation</th>
              <th scope="col">Outcome</th>
              <th scope="col">Secret</th>
              <th scope="col">Version</th>
              <th scope="col">Environment</th>
              <th scope="col">Key id</th>
              <th scope="col">Door</th>
              <th scope="col">Reason</th>
              <th scope="col">Request id</th>
            </tr>
          </thead>
          <tbody>
            {edges.map(({ node }) => (
              <tr key={node.id}>
                <td data-label="Time">
                  <Time at={node.at} />
                </td>
                <td data-label="Operation">{node.operation}</td>
                <td data-label="Outcome">
                  <span className={`badge ${GOOD_OUTCOMES.includes(node.outcome) ? 'badge-ok' : 'badge-bad'}`}>{node.outcome}</span>
                </td>
                <td data-label="Secret">
                  {node.secretId && node.environment ? (
                    <Link to={`/e/${encodeURIComponent(node.environment)}/secrets/${encodeURIComponent(node.secretId)}`}>
                      <code>{node.secretName ?? node.secretId}</code>
                    </Link>
                  ) : node.secretName || node.secretId ? (
                    <code>{node.secretName ?? node.secretId}</code>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td data-label="Version">{node.version !== null ? `v${node.version}` : <span className="muted">—</span>}</td>
                <td data-label="Environment">{node.environment ?? <span className="muted">—</span>}</td>
                <td data-label="Key id">{node.keyId ? <code>{node.keyId}</code> : <span className="muted">—</span>}</td>
                <td data-label="Door">{node.door}</td>
                <td data-label="Reason">{node.reason ?? <span className="muted">—</span>}</td>
                <td data-label="Request id">{node.requestId ? <code>{node.requestId}</code> : <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!events.loading && edges.length === 0 ? <p className="empty">{anyFilter ? 'No events match these filters.' : 'No events yet.'}</p> : null}
      </div>
      <Pager
        page={pager.page}
        hasNext={events.data?.auditEvents.pageInfo.hasNextPage ?? false}
        onPrevious={pager.previous}
        onNext={() => pager.next(events.data?.auditEvents.pageInfo.endCursor)}
      />
    </section>
  );
}

/** A text filter's input: follows the URL, and writes to it 250 ms after typing stops. */
function useTyped(current: string, write: (to: string) => void) {
  const [typed, setTyped] = useState(current);
  const [seen, setSeen] = useState(current);
  // The URL changed from elsewhere (back, a link, "Clear filters"): show its value.
  if (seen !== current) {
    setSeen(current);
    setTyped(current);
  }
  useEffect(() => {
    if (typed === current) return;
    const t = setTimeout(() => write(typed), 250);
    return () => clearTimeout(t);
    // `write` is a fresh closure each render: the timer restarts only when the text does.
  }, [typed, current]);
  return [typed, setTyped] as const;
}
