// Screen: the project's environments, each a link to its secrets; creating
// one, and deleting one after a second, confirming press. The server decides
// what may go (a non-empty environment is refused) and its words are shown.
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { isFailure, type Failure } from '../api.ts';
import { useMutation, useQuery } from '../data.ts';
import { FailureFields } from '../operations.ts';
import { graphql } from '../graphql.ts';
import { missing, useSession } from '../session.tsx';
import { FailureNotice, fieldError, Notice, TextField, Time } from '../ui.tsx';
import { announceEnvironmentsChanged, EnvironmentsQuery } from './Layout.tsx';

const CreateEnvironment = graphql(
  `
    mutation CreateEnvironment($input: CreateEnvironmentInput!) {
      createEnvironment(input: $input) {
        __typename
        ... on CreateEnvironmentSuccess {
          environment {
            id
            slug
            name
            createdAt
          }
        }
        ...Failure
      }
    }
  `,
  [FailureFields],
);

const DeleteEnvironment = graphql(
  `
    mutation DeleteEnvironment($slug: String!) {
      deleteEnvironment(slug: $slug) {
        __typename
        ... on DeleteEnvironmentSuccess {
          environment {
            id
            slug
          }
        }
        ...Failure
      }
    }
  `,
  [FailureFields],
);

export function Environments() {
  const session = useSession();
  const { viewer } = session;
  const list = useQuery(EnvironmentsQuery, {}, !session.can('secrets:read'));
  const [create, creating] = useMutation(CreateEnvironment);
  const [remove, removing] = useMutation(DeleteEnvironment);
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [failure, setFailure] = useState<Failure | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [deleted, setDeleted] = useState<string | null>(null);
  // Where the focus goes back to when a confirm step is left (the row's Delete button).
  const [refocus, setRefocus] = useState<string | null>(null);

  const cannotRead = missing(session, 'secrets:read');
  if (cannotRead) return <Notice kind="info">{cannotRead}</Notice>;

  // Creating and deleting environments needs secrets:write and a key for all environments.
  const manageReason =
    missing(session, 'secrets:write') ??
    (viewer.environment !== null
      ? `This key is bound to the environment ${viewer.environment}: only a key for all environments can create or delete environments.`
      : null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFailure(null);
    setError(null);
    setCreated(null);
    const result = await create({ input: { name, slug } });
    if ('error' in result) return setError(result.error);
    const answer = result.data.createEnvironment;
    if (answer.__typename === 'CreateEnvironmentSuccess' && 'environment' in answer) {
      setCreated(answer.environment.slug);
      setName('');
      setSlug('');
      list.reload();
      announceEnvironmentsChanged();
      return;
    }
    if (isFailure(answer)) setFailure(answer);
  }

  async function confirmDelete(target: string) {
    setDeleteError(null);
    setDeleted(null);
    const result = await remove({ slug: target });
    setConfirming(null);
    setRefocus(target);
    if ('error' in result) return setDeleteError(result.error);
    const answer = result.data.deleteEnvironment;
    if (answer.__typename === 'DeleteEnvironmentSuccess') {
      setDeleted(target);
      list.reload();
      announceEnvironmentsChanged();
      return;
    }
    if (isFailure(answer)) setDeleteError(answer.message);
  }

  const environments = list.data?.environments ?? [];
  return (
    <section>
      <div className="heading">
        <h1>Environments</h1>
        {manageReason ? (
          <span className="muted" title={manageReason}>
            {manageReason}
          </span>
        ) : null}
      </div>
      <Notice kind="error">{list.error}</Notice>
      <Notice kind="error">{deleteError}</Notice>
      <Notice kind="ok">{deleted ? `Environment ${deleted} deleted.` : null}</Notice>
      <div className="table-wrap">
        <table aria-busy={list.loading}>
          <thead>
            <tr>
              <th scope="col">Slug</th>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
              {manageReason ? null : <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {environments.map((env) => (
              <tr key={env.id}>
                <td data-label="Slug">
                  <Link to={`/e/${encodeURIComponent(env.slug)}/secrets`}>
                    <code>{env.slug}</code>
                  </Link>
                </td>
                <td data-label="Name">{env.name}</td>
                <td data-label="Created">
                  <Time at={env.createdAt} />
                </td>
                {manageReason ? null : (
                  <td data-label="Actions">
                    <div className="actions">
                      {confirming === env.slug ? (
                        <>
                          <button type="button" className="danger" autoFocus disabled={removing} onClick={() => void confirmDelete(env.slug)}>
                            Confirm delete {env.slug}
                          </button>
                          <button
                            type="button"
                            aria-label={`Cancel deleting ${env.slug}`}
                            onClick={() => {
                              setConfirming(null);
                              setRefocus(env.slug);
                            }}
                          >
                            Cancel
                          </button>
                        </>
                      ) : (
                        <button
                          type="button"
                          className="danger"
                          aria-label={`Delete ${env.slug}`}
                          autoFocus={refocus === env.slug}
                          disabled={removing}
                          onClick={() => {
                            setDeleteError(null);
                            setDeleted(null);
                            setConfirming(env.slug);
                          }}
                        >
                          Delete
                        </button>
                      )}
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
        {!list.loading && environments.length === 0 ? <p className="empty">No environments.</p> : null}
      </div>
      {manageReason ? null : (
        <>
          <h2>New environment</h2>
          <form onSubmit={submit} className="panel" noValidate>
            <Notice kind="error">{error}</Notice>
            <FailureNotice failure={failure} beside={['name', 'slug']} />
            <Notice kind="ok">
              {created ? (
                <>
                  Environment <Link to={`/e/${encodeURIComponent(created)}/secrets`}>{created}</Link> created.
                </>
              ) : null}
            </Notice>
            <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" error={fieldError(failure, 'input', 'name')} />
            <TextField
              label="Slug"
              value={slug}
              onChange={(e) => setSlug(e.target.value)}
              autoComplete="off"
              spellCheck={false}
              error={fieldError(failure, 'input', 'slug')}
              hint="Its name in paths and URLs, e.g. staging. It cannot be changed later."
            />
            <button type="submit" className="primary" disabled={creating}>
              Create
            </button>
          </form>
        </>
      )}
    </section>
  );
}
