// Screen: the project's API keys, a page at a time; revoking one after a
// second, confirming press, and creating one. A new key is shown once, kept
// only in this component's state, and dropped on "Done".
import { useId, useState, type FormEvent } from 'react';
import { isFailure, type Failure } from '../api.ts';
import { useMutation, useQuery } from '../data.ts';
import { FailureFields } from '../operations.ts';
import { graphql } from '../graphql.ts';
import { missing, useSession, type Scope } from '../session.tsx';
import { FailureNotice, Field, fieldError, isoFromLocal, localFromIso, Notice, Pager, ShownOnce, TextField, Time, usePager } from '../ui.tsx';
import { EnvironmentsQuery } from './Layout.tsx';

export const PAGE_SIZE = 50;

const SCOPES: Scope[] = ['secrets:read', 'secrets:write', 'secrets:reveal', 'keys:manage', 'webhooks:manage'];

const ApiKeysQuery = graphql(`
  query ApiKeys($first: Int, $after: String) {
    apiKeys(first: $first, after: $after) {
      edges {
        node {
          id
          name
          prefix
          scopes
          environment
          expiresAt
          lastUsedAt
          createdAt
          revokedAt
          requireRevealReason
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const CreateApiKey = graphql(
  `
    mutation CreateApiKey($input: CreateApiKeyInput!) {
      createApiKey(input: $input) {
        __typename
        ... on CreateApiKeySuccess {
          apiKey {
            id
            name
            prefix
          }
          key
        }
        ...Failure
      }
    }
  `,
  [FailureFields],
);

const RevokeApiKey = graphql(
  `
    mutation RevokeApiKey($id: ID!) {
      revokeApiKey(id: $id) {
        __typename
        ... on RevokeApiKeySuccess {
          apiKey {
            id
            revokedAt
          }
        }
        ...Failure
      }
    }
  `,
  [FailureFields],
);

export function ApiKeys() {
  const session = useSession();
  const { viewer } = session;
  const cannotManage = !session.can('keys:manage');
  const pager = usePager('keys');
  const list = useQuery(ApiKeysQuery, { first: PAGE_SIZE, after: pager.after }, cannotManage);
  // The environments to bind a key to; a key bound to one can only make keys bound to it.
  const environments = useQuery(EnvironmentsQuery, {}, cannotManage || !session.can('secrets:read') || viewer.environment !== null);
  const [create, creating] = useMutation(CreateApiKey);
  const [revoke, revoking] = useMutation(RevokeApiKey);

  const defaultScopes = (): Scope[] => (session.can('secrets:read') ? ['secrets:read'] : []);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Scope[]>(defaultScopes);
  const [environment, setEnvironment] = useState(viewer.environment ?? '');
  const [expires, setExpires] = useState('');
  const [requireReason, setRequireReason] = useState(viewer.requireRevealReason);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState<{ key: string } | null>(null);

  const [confirming, setConfirming] = useState<string | null>(null);
  const [refocus, setRefocus] = useState<string | null>(null);
  const [revokeError, setRevokeError] = useState<string | null>(null);
  const [revoked, setRevoked] = useState<string | null>(null);
  const formId = useId();

  const manageReason = missing(session, 'keys:manage');
  if (manageReason) return <Notice kind="info">{manageReason}</Notice>;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFailure(null);
    setError(null);
    setShown(null);
    const input = {
      name,
      scopes,
      environment: environment || null,
      expiresAt: isoFromLocal(expires),
      requireRevealReason: requireReason,
    };
    const result = await create({ input });
    if ('error' in result) return setError(result.error);
    const answer = result.data.createApiKey;
    if (answer.__typename === 'CreateApiKeySuccess' && 'key' in answer) {
      setShown({ key: answer.key });
      setName('');
      setScopes(defaultScopes());
      setEnvironment(viewer.environment ?? '');
      setExpires('');
      setRequireReason(viewer.requireRevealReason);
      list.reload();
      return;
    }
    if (isFailure(answer)) setFailure(answer);
  }

  async function confirmRevoke(id: string, label: string) {
    setRevokeError(null);
    setRevoked(null);
    const result = await revoke({ id });
    setConfirming(null);
    setRefocus(id);
    if ('error' in result) return setRevokeError(result.error);
    const answer = result.data.revokeApiKey;
    if (answer.__typename === 'RevokeApiKeySuccess') {
      setRevoked(label);
      list.reload();
      return;
    }
    if (isFailure(answer)) setRevokeError(answer.message);
  }

  const toggleScope = (scope: Scope, on: boolean) =>
    setScopes((current) => (on ? SCOPES.filter((s) => s === scope || current.includes(s)) : current.filter((s) => s !== scope)));

  const edges = list.data?.apiKeys.edges ?? [];
  const now = Date.now();
  // A key without secrets:read cannot list the environments: it types a slug instead.
  const slugs =
    viewer.environment !== null
      ? [viewer.environment]
      : session.can('secrets:read') && !environments.error
        ? (environments.data?.environments.map((e) => e.slug) ?? [])
        : null;
  const scopesError = fieldError(failure, 'input', 'scopes');
  const expiryLimit = viewer.expiresAt ? localFromIso(viewer.expiresAt) : undefined;

  return (
    <section>
      <h1>API keys</h1>
      {shown ? <ShownOnce title="The new API key." value={shown.key} onDone={() => setShown(null)} /> : null}
      <Notice kind="error">{list.error}</Notice>
      <Notice kind="error">{revokeError}</Notice>
      <Notice kind="ok">{revoked ? `Key ${revoked} revoked.` : null}</Notice>
      <div className="table-wrap">
        <table aria-busy={list.loading}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Scopes</th>
              <th scope="col">Environment</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Created</th>
              <th scope="col">Status</th>
              <th scope="col">Must give a reason</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {edges.map(({ node }) => {
              const expired = node.expiresAt !== null && new Date(node.expiresAt).getTime() < now;
              const active = node.revokedAt === null && !expired;
              const label = `${node.name} (${node.prefix})`;
              return (
                <tr key={node.id}>
                  <td data-label="Name">
                    {node.name}
                    {node.id === viewer.keyId ? <span className="muted"> (this key)</span> : null}
                  </td>
                  <td data-label="Prefix">
                    <code>{node.prefix}</code>
                  </td>
                  <td data-label="Scopes">{node.scopes.length ? node.scopes.join(', ') : <span className="muted">none</span>}</td>
                  <td data-label="Environment">{node.environment ?? <span className="muted">all</span>}</td>
                  <td data-label="Expires">
                    <Time at={node.expiresAt} empty="never" />
                  </td>
                  <td data-label="Last used">
                    <Time at={node.lastUsedAt} empty="never" />
                  </td>
                  <td data-label="Created">
                    <Time at={node.createdAt} />
                  </td>
                  <td data-label="Status">
                    {node.revokedAt !== null ? (
                      <span className="badge badge-bad">
                        revoked <Time at={node.revokedAt} />
                      </span>
                    ) : expired ? (
                      <span className="badge badge-bad">expired</span>
                    ) : (
                      <span className="badge badge-ok">active</span>
                    )}
                  </td>
                  <td data-label="Must give a reason">{node.requireRevealReason ? 'yes' : 'no'}</td>
                  <td data-label="Actions">
                    {active ? (
                      <div className="actions">
                        {confirming === node.id ? (
                          <>
                            <button type="button" className="danger" autoFocus disabled={revoking} onClick={() => void confirmRevoke(node.id, label)}>
                              Confirm revoke {label}
                            </button>
                            <button
                              type="button"
                              aria-label={`Cancel revoking ${label}`}
                              onClick={() => {
                                setConfirming(null);
                                setRefocus(node.id);
                              }}
                            >
                              Cancel
                            </button>
                          </>
                        ) : (
                          <button
                            type="button"
                            className="danger"
                            aria-label={`Revoke ${label}`}
                            autoFocus={refocus === node.id}
                            disabled={revoking}
                            onClick={() => {
                              setRevokeError(null);
                              setRevoked(null);
                              setConfirming(node.id);
                            }}
                          >
                            Revoke
                          </button>
                        )}
                      </div>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {!list.loading && edges.length === 0 ? <p className="empty">No API keys.</p> : null}
      </div>
      <Pager
        page={pager.page}
        hasNext={list.data?.apiKeys.pageInfo.hasNextPage ?? false}
        onPrevious={pager.previous}
        onNext={() => pager.next(list.data?.apiKeys.pageInfo.endCursor)}
      />

      <h2>New API key</h2>
      <form onSubmit={submit} className="panel" noValidate>
        <Notice kind="error">{error}</Notice>
        <FailureNotice failure={failure} beside={['name', 'scopes', 'environment', 'expiresAt']} />
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" error={fieldError(failure, 'input', 'name')} />
        <fieldset className="checks" aria-describedby={scopesError ? `${formId}-scopes-error` : undefined}>
          <legend>Scopes</legend>
          {SCOPES.map((scope) => {
            const lacks = missing(session, scope);
            return (
              <label key={scope} title={lacks ? `${lacks} It cannot give it to a key it creates.` : undefined}>
                <input type="checkbox" checked={scopes.includes(scope)} disabled={lacks !== null} onChange={(e) => toggleScope(scope, e.target.checked)} />{' '}
                {scope}
                {lacks ? <span className="muted"> (this key lacks it)</span> : null}
              </label>
            );
          })}
        </fieldset>
        {scopesError ? (
          <p id={`${formId}-scopes-error`} className="field-error" role="alert">
            {scopesError}
          </p>
        ) : null}
        {slugs === null ? (
          <TextField
            label="Environment (optional)"
            value={environment}
            onChange={(e) => setEnvironment(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            error={fieldError(failure, 'input', 'environment')}
            hint={environments.error ?? 'An environment slug; empty: all environments.'}
          />
        ) : (
          <Field
            label="Environment"
            error={fieldError(failure, 'input', 'environment')}
            hint={viewer.environment !== null ? `This key is bound to ${viewer.environment}: a key it creates is bound to it too.` : undefined}
          >
            {(id, describedBy) => (
              <select id={id} aria-describedby={describedBy} value={environment} onChange={(e) => setEnvironment(e.target.value)}>
                {viewer.environment === null ? <option value="">All environments</option> : null}
                {slugs.map((slug) => (
                  <option key={slug} value={slug}>
                    {slug}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        <TextField
          label="Expires (optional)"
          type="datetime-local"
          value={expires}
          max={expiryLimit}
          onChange={(e) => setExpires(e.target.value)}
          error={fieldError(failure, 'input', 'expiresAt')}
          hint={viewer.expiresAt ? `This key expires ${new Date(viewer.expiresAt).toLocaleString()}: a key it creates must expire no later.` : 'Empty: never.'}
        />
        <div className="field">
          <label>
            <input
              type="checkbox"
              checked={requireReason}
              disabled={viewer.requireRevealReason}
              onChange={(e) => setRequireReason(e.target.checked)}
              aria-describedby={viewer.requireRevealReason ? `${formId}-reason-hint` : undefined}
            />{' '}
            Must give a reason to reveal
          </label>
          {viewer.requireRevealReason ? (
            <small id={`${formId}-reason-hint`} className="hint">
              This key must give a reason for its reveals: a key it creates must too.
            </small>
          ) : null}
        </div>
        <button type="submit" className="primary" disabled={creating}>
          Create key
        </button>
      </form>
    </section>
  );
}
