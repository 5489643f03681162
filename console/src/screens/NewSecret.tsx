// Screen 2 (create): the server's name and value rules decide; its
// ValidationError fields are shown beside their inputs. The value is sent
// once, in the create, and dropped from the page as soon as it answers.
import { useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { failureOf, type Failure } from '../api.ts';
import { useMutation } from '../data.ts';
import { CreateSecret } from '../operations.ts';
import { graphql } from '../graphql.ts';
import { missing, useSession } from '../session.tsx';
import { FailureNotice, Field, fieldError, isoFromLocal, Notice, TextField } from '../ui.tsx';

export function NewSecret() {
  const env = useParams().env!;
  const session = useSession();
  const navigate = useNavigate();
  const [create, busy] = useMutation(CreateSecret);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [description, setDescription] = useState('');
  const [provider, setProvider] = useState('');
  const [expires, setExpires] = useState('');
  const [failure, setFailure] = useState<Failure | null>(null);
  const [error, setError] = useState<string | null>(null);
  // One idempotency key per attempt: a retried submit (a lost answer) cannot create twice.
  const attempt = useRef(crypto.randomUUID());

  const reason = missing(session, 'secrets:write');
  if (reason) return <Notice kind="info">{reason}</Notice>;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setFailure(null);
    setError(null);
    const input = { name, value, description: description || null, provider: provider || null, expiresAt: isoFromLocal(expires) };
    const result = await create({ environment: env, idempotencyKey: attempt.current, input });
    if ('error' in result) return setError(result.error);
    const answer = result.data.createSecret;
    if (answer.__typename === 'CreateSecretSuccess' && 'secret' in answer) {
      setValue('');
      navigate(`/e/${encodeURIComponent(env)}/secrets/${answer.secret.id}`, { state: { created: answer.secret.name } });
      return;
    }
    attempt.current = crypto.randomUUID();
    setFailure(failureOf(answer));
  }

  return (
    <section>
      <p>
        <Link to={`/e/${encodeURIComponent(env)}/secrets`}>← Secrets in {env}</Link>
      </p>
      <h1>New secret in {env}</h1>
      <form onSubmit={submit} className="panel" noValidate>
        <Notice kind="error">{error}</Notice>
        <FailureNotice failure={failure} beside={['name', 'value', 'description', 'provider', 'expiresAt']} />
        <TextField
          label="Name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          error={fieldError(failure, 'input', 'name')}
          hint="As an environment variable: an uppercase letter, then A–Z, 0–9 and _."
        />
        <Field
          label="Value"
          error={fieldError(failure, 'input', 'value')}
          hint="Write-only: the console never shows it back. ${NAME} refers to another secret."
        >
          {(id, describedBy) => (
            <textarea
              id={id}
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
          label="Description (optional)"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          error={fieldError(failure, 'input', 'description')}
        />
        <TextField
          label="Provider (optional)"
          value={provider}
          onChange={(e) => setProvider(e.target.value)}
          error={fieldError(failure, 'input', 'provider')}
        />
        <TextField
          label="Expires (optional)"
          type="datetime-local"
          value={expires}
          onChange={(e) => setExpires(e.target.value)}
          error={fieldError(failure, 'input', 'expiresAt')}
        />
        <button type="submit" className="primary" disabled={busy}>
          Create
        </button>
      </form>
    </section>
  );
}
