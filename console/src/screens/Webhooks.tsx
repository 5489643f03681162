// The project's webhooks: where its change events are sent, which ones, from
// which environment. A new webhook's signing secret is shown once, kept only
// in this component's state, and dropped on Done.
import { useId, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { isFailure, type Failure } from '../api.ts';
import { useMutation, useQuery } from '../data.ts';
import { FailureFields } from '../operations.ts';
import { graphql } from '../graphql.ts';
import { missing, useSession } from '../session.tsx';
import { EnvironmentsQuery } from './Layout.tsx';
import { FailureNotice, Field, fieldError, Notice, ShownOnce, TextField, Time } from '../ui.tsx';

export const WebhooksQuery = graphql(`
  query Webhooks {
    webhooks {
      id
      url
      events
      environment
      createdAt
    }
  }
`);

const CreateWebhook = graphql(
  `
    mutation CreateWebhook($input: CreateWebhookInput!) {
      createWebhook(input: $input) {
        __typename
        ... on CreateWebhookSuccess {
          webhook {
            id
            url
          }
          signingSecret
        }
        ...Failure
      }
    }
  `,
  [FailureFields],
);

const DeleteWebhook = graphql(
  `
    mutation DeleteWebhook($id: ID!) {
      deleteWebhook(id: $id) {
        __typename
        ... on DeleteWebhookSuccess {
          webhook {
            id
            url
          }
        }
        ...Failure
      }
    }
  `,
  [FailureFields],
);

/** The SecretEventType enum, in the order the events happen to a secret. */
const EVENT_TYPES = ['CREATED', 'UPDATED', 'DESCRIBED', 'RENAMED', 'DELETED', 'RESTORED', 'EXPIRED'] as const;
type EventType = (typeof EVENT_TYPES)[number];

export function Webhooks() {
  const session = useSession();
  const reason = missing(session, 'webhooks:manage');
  const list = useQuery(WebhooksQuery, {}, reason !== null);
  const environments = useQuery(EnvironmentsQuery, {}, reason !== null || !session.can('secrets:read'));
  const [create, creating] = useMutation(CreateWebhook);
  const [remove, removing] = useMutation(DeleteWebhook);
  const eventsId = useId();

  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<EventType[]>([]);
  const [environment, setEnvironment] = useState('');
  const [failure, setFailure] = useState<Failure | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [signingSecret, setSigningSecret] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);

  const [confirming, setConfirming] = useState<string | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [deleted, setDeleted] = useState<string | null>(null);

  if (reason) return <Notice kind="info">{reason}</Notice>;

  const slugs = environments.data?.environments.map((e) => e.slug) ?? (session.viewer.environment ? [session.viewer.environment] : []);
  const hooks = list.data?.webhooks ?? [];
  const eventsError = fieldError(failure, 'input', 'events');

  function toggle(type: EventType, on: boolean) {
    setEvents((current) => (on ? EVENT_TYPES.filter((t) => t === type || current.includes(t)) : current.filter((t) => t !== type)));
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFailure(null);
    setError(null);
    setCreated(null);
    setDeleted(null);
    const result = await create({ input: { url: url.trim(), events: events.length > 0 ? events : null, environment: environment || null } });
    if ('error' in result) return setError(result.error);
    const answer = result.data.createWebhook;
    if (answer.__typename === 'CreateWebhookSuccess' && 'signingSecret' in answer) {
      setSigningSecret(answer.signingSecret);
      setCreated(answer.webhook.url);
      setUrl('');
      setEvents([]);
      setEnvironment('');
      list.reload();
      return;
    }
    if (isFailure(answer)) setFailure(answer);
  }

  async function confirmDelete(id: string, hookUrl: string) {
    setDeleteError(null);
    setDeleted(null);
    setCreated(null);
    const result = await remove({ id });
    setConfirming(null);
    if ('error' in result) return setDeleteError(result.error);
    const answer = result.data.deleteWebhook;
    if (answer.__typename === 'DeleteWebhookSuccess') {
      setDeleted(hookUrl);
      list.reload();
      return;
    }
    if (isFailure(answer)) setDeleteError(answer.message);
  }

  return (
    <section>
      <h1>Webhooks</h1>
      <p className="muted">Each webhook gets the project's change events, signed with its secret (Standard Webhooks). Values are never sent.</p>
      {signingSecret !== null ? (
        <ShownOnce
          title="The signing secret."
          value={signingSecret}
          onDone={() => {
            setSigningSecret(null);
          }}
        />
      ) : null}
      <Notice kind="ok">{created ? `Webhook created for ${created}.` : null}</Notice>
      <Notice kind="ok">{deleted ? `Webhook for ${deleted} deleted.` : null}</Notice>
      <Notice kind="error">{list.error}</Notice>
      <Notice kind="error">{deleteError}</Notice>
      <div className="table-wrap">
        <table aria-busy={list.loading}>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">Environment</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {hooks.map((hook) => (
              <tr key={hook.id}>
                <td data-label="URL">
                  <code>{hook.url}</code>
                </td>
                <td data-label="Events">{hook.events.length > 0 ? hook.events.map((e) => e.toLowerCase()).join(', ') : <span className="muted">all</span>}</td>
                <td data-label="Environment">{hook.environment ?? <span className="muted">all</span>}</td>
                <td data-label="Created">
                  <Time at={hook.createdAt} />
                </td>
                <td data-label="Actions">
                  <div className="actions">
                    <Link to={`/webhooks/${encodeURIComponent(hook.id)}`}>Deliveries</Link>
                    {confirming === hook.id ? (
                      <>
                        <button
                          type="button"
                          className="danger"
                          aria-label={`Confirm delete ${hook.url}`}
                          disabled={removing}
                          onClick={() => void confirmDelete(hook.id, hook.url)}
                        >
                          Confirm delete
                        </button>
                        <button type="button" aria-label={`Cancel deleting ${hook.url}`} onClick={() => setConfirming(null)}>
                          Cancel
                        </button>
                      </>
                    ) : (
                      <button
                        type="button"
                        className="danger"
                        aria-label={`Delete ${hook.url}`}
                        onClick={() => {
                          setDeleteError(null);
                          setConfirming(hook.id);
                        }}
                      >
                        Delete
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {!list.loading && !list.error && hooks.length === 0 ? <p className="empty">No webhooks yet.</p> : null}
      </div>

      <h2>New webhook</h2>
      <form onSubmit={submit} className="panel" noValidate>
        <Notice kind="error">{error}</Notice>
        <FailureNotice failure={failure} beside={['url', 'events', 'environment']} />
        <TextField
          label="URL"
          type="url"
          inputMode="url"
          autoComplete="off"
          spellCheck={false}
          placeholder="https://example.com/hooks/secrets"
          required
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          error={fieldError(failure, 'input', 'url')}
          hint="Addresses inside the network are refused unless the service allows them."
        />
        <fieldset className="checks" aria-describedby={[`${eventsId}-hint`, eventsError ? `${eventsId}-error` : null].filter(Boolean).join(' ')}>
          <legend>Events</legend>
          {EVENT_TYPES.map((type) => (
            <label key={type}>
              <input type="checkbox" checked={events.includes(type)} onChange={(e) => toggle(type, e.target.checked)} /> {type.toLowerCase()}
            </label>
          ))}
        </fieldset>
        <p id={`${eventsId}-hint`} className="hint">
          None checked: all events.
        </p>
        {eventsError ? (
          <p id={`${eventsId}-error`} className="field-error" role="alert">
            {eventsError}
          </p>
        ) : null}
        <Field label="Environment" error={fieldError(failure, 'input', 'environment')} hint="Only this environment's events, or all of them.">
          {(id, describedBy) => (
            <select id={id} aria-describedby={describedBy} value={environment} onChange={(e) => setEnvironment(e.target.value)}>
              <option value="">All environments</option>
              {slugs.map((slug) => (
                <option key={slug} value={slug}>
                  {slug}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" className="primary" disabled={creating || url.trim() === ''}>
          Create webhook
        </button>
      </form>
    </section>
  );
}
