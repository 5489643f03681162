// Screens 2–4 for one secret: its metadata; a new value sent with
// expectedVersion (a change made meanwhile is a conflict that overwrites
// nothing); reveal with a reason, shown for 30 s at most; its versions and a
// roll back to one; delete. Another client's change shows up live.
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { failureOf, request, type Failure } from '../api.ts';
import { useMutation, useQuery } from '../data.ts';
import { FailureFields, RevealSecret, UpdateSecret } from '../operations.ts';
import { graphql } from '../graphql.ts';
import { useSecretEvents } from '../live.ts';
import { missing, useSession } from '../session.tsx';
import { CopyButton, FailureNotice, Field, fieldError, isoFromLocal, localFromIso, Notice, relative, TextField, Time, Unavailable } from '../ui.tsx';

const SecretQuery = graphql(`
  query Secret($environment: String, $id: ID!) {
    secret(environment: $environment, id: $id) {
      id
      name
      description
      provider
      version
      createdAt
      createdBy
      updatedAt
      lastUpdatedBy
      expiresAt
      versions(first: 50) {
        edges {
          node {
            version
            createdAt
            createdBy
          }
        }
      }
    }
  }
`);

const UpdateMetadata = graphql(
  `
    mutation UpdateSecretMetadata($environment: String, $id: ID!, $input: UpdateSecretMetadataInput!) {
      updateSecretMetadata(environment: $environment, id: $id, input: $input) {
        __typename
        ... on UpdateSecretMetadataSuccess {
          secret {
            id
            name
          }
        }
        ...Failure
      }
    }
  `,
  [FailureFields],
);

const DeleteSecret = graphql(
  `
    mutation DeleteSecret($environment: String, $id: ID!) {
      deleteSecret(environment: $environment, id: $id) {
        __typename
        ... on DeleteSecretSuccess {
          secret {
            id
            restorableUntil
          }
        }
        ...Failure
      }
    }
  `,
  [FailureFields],
);

const SHOWN_FOR = 30;

export function SecretDetail() {
  const { env, id } = useParams() as { env: string; id: string };
  const session = useSession();
  const location = useLocation();
  const loaded = useQuery(SecretQuery, { environment: env, id }, !session.can('secrets:read'));
  const [liveNote, setLiveNote] = useState<string | null>(null);
  const secret = loaded.data?.secret;

  useSecretEvents(session.key, env, (event) => {
    if (event.secret.id !== id) return;
    setLiveNote(`Another client changed this secret (${event.type.toLowerCase()}, now v${event.secret.version}).`);
    loaded.reload();
  });

  const cannotRead = missing(session, 'secrets:read');
  if (cannotRead) return <Notice kind="info">{cannotRead}</Notice>;
  const back = (
    <p>
      <Link to={`/e/${encodeURIComponent(env)}/secrets`}>← Secrets in {env}</Link>
    </p>
  );
  if (loaded.error)
    return (
      <section>
        {back}
        <Notice kind="error">{loaded.error}</Notice>
      </section>
    );
  if (!secret)
    return loaded.loading ? (
      <p>Loading…</p>
    ) : (
      <section>
        {back}
        <h1>Not found</h1>
        <p>No secret with this id in {env}: it may have been deleted.</p>
      </section>
    );

  const created = (location.state as { created?: string } | null)?.created;
  return (
    <section>
      {back}
      <h1>
        <code>{secret.name}</code> <span className="muted">v{secret.version}</span>
      </h1>
      {created === secret.name ? <Notice kind="ok">Created {created}.</Notice> : null}
      <Notice kind="info">{liveNote}</Notice>
      <div className="panel">
        <dl className="meta">
          <dt>Environment</dt>
          <dd>{env}</dd>
          <dt>Description</dt>
          <dd>{secret.description ?? <span className="muted">—</span>}</dd>
          <dt>Provider</dt>
          <dd>{secret.provider ?? <span className="muted">—</span>}</dd>
          <dt>Expires</dt>
          <dd>
            {secret.expiresAt ? (
              <>
                <Time at={secret.expiresAt} /> ({relative(secret.expiresAt)})
              </>
            ) : (
              <span className="muted">never</span>
            )}
          </dd>
          <dt>Updated</dt>
          <dd>
            <Time at={secret.updatedAt} /> by <code>{secret.lastUpdatedBy}</code>
          </dd>
          <dt>Created</dt>
          <dd>
            <Time at={secret.createdAt} /> by <code>{secret.createdBy}</code>
          </dd>
          <dt>Id</dt>
          <dd>
            <code>{secret.id}</code>
          </dd>
        </dl>
      </div>
      <Reveal env={env} id={id} />
      <EditValue env={env} id={id} version={secret.version} expiresAt={secret.expiresAt} onSaved={loaded.reload} />
      <EditMetadata env={env} secret={secret} onSaved={loaded.reload} />
      <Versions env={env} id={id} current={secret.version} versions={secret.versions.edges.map((e) => e.node)} onRolledBack={loaded.reload} />
      <Delete env={env} id={id} name={secret.name} />
    </section>
  );
}

function useReason() {
  const session = useSession();
  const [reason, setReason] = useState('');
  const needed = session.viewer.requireRevealReason;
  return { reason, setReason, needed, ok: !needed || reason.trim() !== '' };
}

function Reveal(props: { env: string; id: string }) {
  const session = useSession();
  const { reason, setReason, needed, ok } = useReason();
  const [resolve, setResolve] = useState(true);
  const [shown, setShown] = useState<{ value: string; resolved: boolean; left: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // The value leaves the page after SHOWN_FOR seconds, or when the secret or the page changes.
  useEffect(() => {
    if (!shown) return;
    if (shown.left <= 0) return setShown(null);
    const t = setTimeout(() => setShown((s) => (s ? { ...s, left: s.left - 1 } : s)), 1000);
    return () => clearTimeout(t);
  }, [shown]);
  useEffect(() => () => setShown(null), [props.id]);

  const cannot = missing(session, 'secrets:reveal');
  async function reveal(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { revealSecret: answer } = await request(session.key, RevealSecret, {
        environment: props.env,
        id: props.id,
        reason: reason.trim() || null,
        resolve,
      });
      if (answer.__typename === 'RevealSecretSuccess' && 'value' in answer) setShown({ value: answer.value, resolved: resolve, left: SHOWN_FOR });
      else setError(failureOf(answer)?.message ?? 'The reveal failed.');
    } catch (err) {
      setError(err instanceof Error ? err.message : 'The reveal failed.');
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="panel">
      <h2>Reveal</h2>
      <Unavailable reason={cannot}>
        <form onSubmit={reveal}>
          <TextField
            label={needed ? 'Reason (this key must give one)' : 'Reason (optional, kept in the audit log)'}
            value={reason}
            required={needed}
            onChange={(e) => setReason(e.target.value)}
          />
          <div className="actions">
            <label>
              <input type="checkbox" checked={resolve} onChange={(e) => setResolve(e.target.checked)} /> Resolve references (<code>{'${NAME}'}</code>)
            </label>
            <button type="submit" disabled={busy || !ok}>
              {shown ? 'Reveal again' : 'Reveal'}
            </button>
          </div>
        </form>
        <Notice kind="error">{error}</Notice>
        {shown ? (
          <div role="status">
            <p className="muted">
              {shown.resolved ? 'Resolved' : 'As written'}; hidden in {shown.left} s.
            </p>
            <code className="secret-value" data-secret-shown>
              {shown.value}
            </code>
            <div className="actions">
              <CopyButton text={shown.value} />
              <button type="button" onClick={() => setShown(null)}>
                Hide
              </button>
            </div>
          </div>
        ) : null}
      </Unavailable>
    </div>
  );
}

function EditValue(props: { env: string; id: string; version: number; expiresAt: string | null; onSaved: () => void }) {
  const session = useSession();
  const [update, busy] = useMutation(UpdateSecret);
  const [value, setValue] = useState('');
  const [expires, setExpires] = useState(localFromIso(props.expiresAt));
  const [failure, setFailure] = useState<Failure | null>(null);
  const [note, setNote] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [conflict, setConflict] = useState<string | null>(null);
  // The version the person saw when they began: the edit applies only on top of it.
  const [base, setBase] = useState(props.version);
  const cannot = missing(session, 'secrets:write');

  async function save(event: FormEvent) {
    event.preventDefault();
    setFailure(null);
    setNote(null);
    setConflict(null);
    const result = await update({ environment: props.env, id: props.id, input: { value, expectedVersion: base, expiresAt: isoFromLocal(expires) } });
    if ('error' in result) return setNote({ kind: 'error', text: result.error });
    const answer = result.data.updateSecret;
    if (answer.__typename === 'UpdateSecretSuccess' && 'secret' in answer) {
      setValue('');
      setBase(answer.secret.version);
      setNote({ kind: 'ok', text: `Saved as v${answer.secret.version}.` });
      props.onSaved();
      return;
    }
    const failed = failureOf(answer);
    if (failed) {
      setFailure(failed);
      // The secret is loaded again: the notice names its newer version, and the next save can build on it.
      if (failed.__typename === 'ConflictError') {
        setConflict(failed.message);
        props.onSaved();
      }
    }
  }

  return (
    <div className="panel">
      <h2>New value</h2>
      <Unavailable reason={cannot}>
        <form onSubmit={save} noValidate>
          <Notice kind={note?.kind ?? 'info'}>{note?.text}</Notice>
          {conflict ? (
            <Notice kind="error">
              {conflict} Nothing was overwritten: the secret is now at v{props.version}; review it, then save again to write on top of it.
            </Notice>
          ) : null}
          {failure?.__typename !== 'ConflictError' ? <FailureNotice failure={failure} beside={['value', 'expiresAt']} /> : null}
          <Field
            label="Value"
            error={fieldError(failure, 'input', 'value')}
            hint={`Write-only, never pre-filled. Applies on top of v${base}; a change made meanwhile is refused.`}
          >
            {(fid, describedBy) => (
              <textarea
                id={fid}
                aria-describedby={describedBy}
                value={value}
                onChange={(e) => setValue(e.target.value)}
                autoComplete="off"
                spellCheck={false}
                data-secret-input
              />
            )}
          </Field>
          <TextField
            label="Expires (optional)"
            type="datetime-local"
            value={expires}
            onChange={(e) => setExpires(e.target.value)}
            error={fieldError(failure, 'input', 'expiresAt')}
          />
          <div className="actions">
            <button type="submit" className="primary" disabled={busy}>
              Save new version
            </button>
            {base !== props.version ? (
              <button type="button" onClick={() => setBase(props.version)}>
                Build on v{props.version}
              </button>
            ) : null}
          </div>
        </form>
      </Unavailable>
    </div>
  );
}

function EditMetadata(props: { env: string; secret: { id: string; name: string; description: string | null; provider: string | null }; onSaved: () => void }) {
  const session = useSession();
  const [save, busy] = useMutation(UpdateMetadata);
  const [name, setName] = useState(props.secret.name);
  const [description, setDescription] = useState(props.secret.description ?? '');
  const [provider, setProvider] = useState(props.secret.provider ?? '');
  const [failure, setFailure] = useState<Failure | null>(null);
  const [note, setNote] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const cannot = missing(session, 'secrets:write');

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFailure(null);
    setNote(null);
    const input = {
      ...(name !== props.secret.name ? { name } : {}),
      description: description === '' ? null : description,
      provider: provider === '' ? null : provider,
    };
    const result = await save({ environment: props.env, id: props.secret.id, input });
    if ('error' in result) return setNote({ kind: 'error', text: result.error });
    const answer = result.data.updateSecretMetadata;
    if (answer.__typename === 'UpdateSecretMetadataSuccess') {
      setNote({ kind: 'ok', text: 'Saved.' });
      props.onSaved();
    } else {
      const failed = failureOf(answer);
      setFailure(failed);
      if (failed && failed.__typename !== 'ValidationError') setNote({ kind: 'error', text: failed.message });
    }
  }
  return (
    <div className="panel">
      <h2>Name and description</h2>
      <Unavailable reason={cannot}>
        <form onSubmit={submit} noValidate>
          <Notice kind={note?.kind ?? 'info'}>{note?.text}</Notice>
          <FailureNotice failure={failure?.__typename === 'ValidationError' ? failure : null} beside={['name', 'description', 'provider']} />
          <TextField
            label="Name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            spellCheck={false}
            autoComplete="off"
            error={fieldError(failure, 'input', 'name')}
          />
          <TextField
            label="Description"
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            error={fieldError(failure, 'input', 'description')}
          />
          <TextField label="Provider" value={provider} onChange={(e) => setProvider(e.target.value)} error={fieldError(failure, 'input', 'provider')} />
          <button type="submit" disabled={busy}>
            Save details
          </button>
        </form>
      </Unavailable>
    </div>
  );
}

function Versions(props: {
  env: string;
  id: string;
  current: number;
  versions: { version: number; createdAt: string; createdBy: string }[];
  onRolledBack: () => void;
}) {
  const session = useSession();
  const { reason, setReason, needed, ok } = useReason();
  const [confirm, setConfirm] = useState<number | null>(null);
  const [note, setNote] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const cannot = missing(session, 'secrets:reveal') ?? missing(session, 'secrets:write');

  // A roll back is a new version holding an old one's value: read it (a reveal, audited) and write it on top of the current one.
  async function rollBack(version: number) {
    setBusy(true);
    setNote(null);
    try {
      const why = reason.trim() || `roll back to v${version}`;
      const { revealSecret: old } = await request(session.key, RevealSecret, { environment: props.env, id: props.id, reason: why, resolve: false, version });
      if (old.__typename !== 'RevealSecretSuccess' || !('value' in old))
        return setNote({ kind: 'error', text: failureOf(old)?.message ?? 'The old value could not be read.' });
      const { updateSecret: answer } = await request(session.key, UpdateSecret, {
        environment: props.env,
        id: props.id,
        input: { value: old.value, expectedVersion: props.current },
      });
      if (answer.__typename === 'UpdateSecretSuccess' && 'secret' in answer) {
        setNote({ kind: 'ok', text: `Rolled back: v${answer.secret.version} holds the value of v${version}.` });
        setConfirm(null);
        props.onRolledBack();
      } else setNote({ kind: 'error', text: failureOf(answer)?.message ?? 'The roll back failed.' });
    } catch (err) {
      setNote({ kind: 'error', text: err instanceof Error ? err.message : 'The roll back failed.' });
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="panel">
      <h2>Versions</h2>
      <Notice kind={note?.kind ?? 'info'}>{note?.text}</Notice>
      {cannot ? <p className="unavailable">Rolling back: {cannot}</p> : null}
      {!cannot && needed ? <TextField label="Reason for reading an old value" value={reason} onChange={(e) => setReason(e.target.value)} required /> : null}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Created</th>
              <th scope="col">By</th>
              <th scope="col">Roll back</th>
            </tr>
          </thead>
          <tbody>
            {props.versions.map((v) => (
              <tr key={v.version}>
                <td data-label="Version">
                  v{v.version}
                  {v.version === props.current ? ' (current)' : ''}
                </td>
                <td data-label="Created">
                  <Time at={v.createdAt} />
                </td>
                <td data-label="By">
                  <code>{v.createdBy}</code>
                </td>
                <td data-label="Roll back">
                  {v.version === props.current || cannot ? (
                    <span className="muted">—</span>
                  ) : confirm === v.version ? (
                    <span className="actions">
                      <button type="button" className="primary" disabled={busy || !ok} onClick={() => rollBack(v.version)}>
                        Confirm roll back to v{v.version}
                      </button>
                      <button type="button" onClick={() => setConfirm(null)}>
                        Cancel
                      </button>
                    </span>
                  ) : (
                    <button type="button" onClick={() => setConfirm(v.version)} aria-label={`Roll back to v${v.version}`}>
                      Roll back
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function Delete(props: { env: string; id: string; name: string }) {
  const session = useSession();
  const navigate = useNavigate();
  const [remove, busy] = useMutation(DeleteSecret);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const cannot = missing(session, 'secrets:write');
  async function run() {
    const result = await remove({ environment: props.env, id: props.id });
    if ('error' in result) return setError(result.error);
    const answer = result.data.deleteSecret;
    if (answer.__typename === 'DeleteSecretSuccess') navigate(`/e/${encodeURIComponent(props.env)}/deleted`, { state: { deleted: props.name } });
    else setError(failureOf(answer)?.message ?? 'The delete failed.');
  }
  return (
    <div className="panel">
      <h2>Delete</h2>
      <Unavailable reason={cannot}>
        <p>A deleted secret can be restored during the recovery window (see Deleted).</p>
        <Notice kind="error">{error}</Notice>
        {confirming ? (
          <div className="actions">
            <button type="button" className="danger" disabled={busy} onClick={run}>
              Confirm delete {props.name}
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        ) : (
          <button type="button" className="danger" onClick={() => setConfirming(true)}>
            Delete {props.name}
          </button>
        )}
      </Unavailable>
    </div>
  );
}
