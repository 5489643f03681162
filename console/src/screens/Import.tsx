// Import a .env file into an environment, with the CLI's rules (`secrets
// import`): a dry run first (create, update, unchanged; an empty value is
// refused, or skipped on request), then Apply. The file's values stay in
// memory only: compared there with the stored ones (secrets:reveal), sent in
// the creates and updates, never rendered, and dropped once applied.
import { parse } from 'dotenv';
import { useEffect, useId, useRef, useState, type DragEvent } from 'react';
import { useParams } from 'react-router';
import { ApiError, isFailure, request } from '../api.ts';
import { CreateSecret, RevealSecret, UpdateSecret } from '../operations.ts';
import { graphql, type ResultOf } from '../graphql.ts';
import { missing, useSession } from '../session.tsx';
import { Notice, TextField } from '../ui.tsx';

const DEFAULT_REASON = 'console import: compare';
const MAX_FILE_BYTES = 1_000_000;

const SecretNamesQuery = graphql(`
  query ImportSecretNames($environment: String, $first: Int, $after: String) {
    secrets(environment: $environment, first: $first, after: $after) {
      edges {
        node {
          id
          name
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

type Plan = 'create' | 'update' | 'unchanged' | 'skipped' | 'refused';
type Outcome = 'created' | 'updated' | 'unchanged' | 'skipped' | 'refused';

/** One variable's plan: names and notes only, never a value. */
interface PlanRow {
  readonly name: string;
  readonly plan: Plan;
  readonly id?: string;
  /** Why it is refused (plan "refused"). */
  readonly why?: string;
  readonly note?: string;
}

interface ResultRow {
  readonly name: string;
  readonly outcome: Outcome;
  readonly why?: string;
  readonly note?: string;
}

/** A refusal in the server's words: a ValidationError's field messages, else its message. */
function refusal(answer: { __typename: string; message?: string; fields?: readonly { path: readonly string[]; message: string }[] | null }): string {
  if (answer.fields?.length) return answer.fields.map((f) => f.message).join('; ');
  return answer.message ?? answer.__typename;
}

function errorText(err: unknown, fallback: string): string {
  return err instanceof ApiError ? err.message : fallback;
}

/** The dry run's plan or the apply's results: a name, its verdict and a note per row. */
function VerdictTable(props: {
  heading: 'Plan' | 'Result';
  rows: readonly { name: string; verdict: Plan | Outcome; why?: string | undefined; note?: string | undefined }[];
}) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">{props.heading}</th>
            <th scope="col">Note</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={row.name}>
              <td data-label="Name">
                <code>{row.name}</code>
              </td>
              <td data-label={props.heading}>
                <Verdict label={row.verdict} why={row.why} />
              </td>
              <td data-label="Note">{row.note ?? <span className="muted">—</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Verdict(props: { label: Plan | Outcome; why?: string | undefined }) {
  const kind =
    props.label === 'refused'
      ? 'badge badge-bad'
      : props.label === 'created' || props.label === 'updated' || props.label === 'create' || props.label === 'update'
        ? 'badge badge-ok'
        : 'badge';
  return (
    <>
      <span className={kind}>{props.label}</span>
      {props.why ? `: ${props.why}` : null}
    </>
  );
}

function count<T>(rows: readonly T[], test: (row: T) => boolean): number {
  return rows.filter(test).length;
}

export function Import() {
  const env = useParams().env!;
  const session = useSession();
  const inputId = useId();
  const fileInput = useRef<HTMLInputElement>(null);
  // The parsed variables, name → value: here only, never in state that renders, dropped after Apply.
  const values = useRef<Map<string, string>>(new Map());
  const [fileName, setFileName] = useState<string | null>(null);
  const [names, setNames] = useState<string[]>([]);
  const [over, setOver] = useState(false);
  const [skipEmpty, setSkipEmpty] = useState(false);
  const [reason, setReason] = useState('');
  const [plan, setPlan] = useState<PlanRow[] | null>(null);
  const [results, setResults] = useState<ResultRow[] | null>(null);
  const [busy, setBusy] = useState<'reading' | 'planning' | 'applying' | null>(null);
  const [progress, setProgress] = useState<{ done: number; of: number } | null>(null);
  const [error, setError] = useState<string | null>(null);

  // Another environment: start again (nothing read for one is applied to another).
  useEffect(() => {
    values.current = new Map();
    setFileName(null);
    setNames([]);
    setPlan(null);
    setResults(null);
    setError(null);
    if (fileInput.current) fileInput.current.value = '';
  }, [env]);

  // Leaving the screen drops the values too.
  useEffect(
    () => () => {
      values.current = new Map();
    },
    [],
  );

  const readReason = missing(session, 'secrets:read');
  if (readReason) return <Notice kind="info">{readReason}</Notice>;
  const writeReason = missing(session, 'secrets:write');
  const canReveal = session.can('secrets:reveal');
  const reasonRequired = canReveal && session.viewer.requireRevealReason;

  async function read(file: File | undefined) {
    if (!file) return;
    setError(null);
    setPlan(null);
    setResults(null);
    values.current = new Map();
    setNames([]);
    setFileName(null);
    if (file.size > MAX_FILE_BYTES) {
      setError(`${file.name} is larger than 1 MB: not a .env file this screen reads.`);
      return;
    }
    setBusy('reading');
    try {
      const parsed = parse(await file.text());
      const entries = Object.entries(parsed);
      if (entries.length === 0) {
        setError(`No variables found in ${file.name}.`);
        return;
      }
      values.current = new Map(entries);
      setNames(entries.map(([name]) => name));
      setFileName(file.name);
    } catch {
      setError(`${file.name} could not be read.`);
    } finally {
      setBusy(null);
      if (fileInput.current) fileInput.current.value = '';
    }
  }

  async function dryRun() {
    setError(null);
    setPlan(null);
    setResults(null);
    setBusy('planning');
    try {
      // Every existing secret of the environment, by name.
      const ids = new Map<string, string>();
      let after: string | null = null;
      for (;;) {
        const page: ResultOf<typeof SecretNamesQuery> = await request(session.key, SecretNamesQuery, { environment: env, first: 100, after });
        for (const { node } of page.secrets.edges) ids.set(node.name, node.id);
        if (!page.secrets.pageInfo.hasNextPage || !page.secrets.pageInfo.endCursor) break;
        after = page.secrets.pageInfo.endCursor;
      }
      const rows: PlanRow[] = [];
      const entries = [...values.current];
      setProgress({ done: 0, of: entries.length });
      for (const [name, value] of entries) {
        if (value === '') {
          // The service stores no empty value: say so here, before any request.
          rows.push(skipEmpty ? { name, plan: 'skipped', note: 'empty value' } : { name, plan: 'refused', why: 'empty value' });
        } else {
          const id = ids.get(name);
          if (id === undefined) rows.push({ name, plan: 'create' });
          else if (!canReveal) rows.push({ name, id, plan: 'update', note: '(cannot compare without secrets:reveal)' });
          else {
            // Compared as stored (references not expanded), so that a second import changes nothing.
            const answer = (await request(session.key, RevealSecret, { environment: env, id, reason: reason.trim() || DEFAULT_REASON, resolve: false }))
              .revealSecret;
            if (answer.__typename === 'RevealSecretSuccess' && 'value' in answer)
              rows.push({ name, id, plan: answer.value === value ? 'unchanged' : 'update' });
            else rows.push({ name, id, plan: 'update', note: `(cannot compare: ${'message' in answer ? answer.message : 'no value'})` });
          }
        }
        setProgress({ done: rows.length, of: entries.length });
      }
      setPlan(rows);
    } catch (err) {
      setError(errorText(err, 'The dry run failed.'));
    } finally {
      setBusy(null);
      setProgress(null);
    }
  }

  async function apply() {
    if (!plan) return;
    setError(null);
    setBusy('applying');
    const out: ResultRow[] = [];
    const changes = count(plan, (r) => r.plan === 'create' || r.plan === 'update');
    let done = 0;
    setProgress({ done, of: changes });
    try {
      for (const row of plan) {
        if (row.plan !== 'create' && row.plan !== 'update') {
          out.push({
            name: row.name,
            outcome: row.plan === 'skipped' ? 'skipped' : row.plan === 'unchanged' ? 'unchanged' : 'refused',
            why: row.why,
            note: row.note,
          });
          continue;
        }
        const value = values.current.get(row.name);
        if (value === undefined) {
          out.push({ name: row.name, outcome: 'refused', why: 'the file is no longer loaded' });
          continue;
        }
        try {
          const answer =
            row.plan === 'create'
              ? (await request(session.key, CreateSecret, { environment: env, idempotencyKey: crypto.randomUUID(), input: { name: row.name, value } }))
                  .createSecret
              : (await request(session.key, UpdateSecret, { environment: env, id: row.id!, input: { value } })).updateSecret;
          if (isFailure(answer)) out.push({ name: row.name, outcome: 'refused', why: refusal(answer) });
          else out.push({ name: row.name, outcome: row.plan === 'create' ? 'created' : 'updated' });
        } catch (err) {
          out.push({ name: row.name, outcome: 'refused', why: errorText(err, 'the request failed') });
        }
        done++;
        setProgress({ done, of: changes });
      }
    } finally {
      // Only names and outcomes remain: the values are dropped, the file must be read again to import again.
      values.current = new Map();
      setFileName(null);
      setPlan(null);
      setResults(out);
      setBusy(null);
      setProgress(null);
    }
  }

  function onDragOver(event: DragEvent<HTMLDivElement>) {
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    if (!over) setOver(true);
  }

  function onDragLeave(event: DragEvent<HTMLDivElement>) {
    // Only when leaving the zone itself, not when passing over its label or input.
    if (!(event.relatedTarget instanceof Node && event.currentTarget.contains(event.relatedTarget))) setOver(false);
  }

  function onDrop(event: DragEvent<HTMLDivElement>) {
    event.preventDefault();
    setOver(false);
    if (busy === null) void read(event.dataTransfer.files[0]);
  }

  const changes = plan ? count(plan, (r) => r.plan === 'create' || r.plan === 'update') : 0;
  const dryRunBlocked = fileName === null || busy !== null || (reasonRequired && reason.trim() === '');

  return (
    <section>
      <h1>
        Import <span className="muted">into {env}</span>
      </h1>
      <p className="muted">
        Creates or updates a secret for each variable of a .env file, like <code>secrets import</code>. A dry run shows the plan first; values are never shown.
      </p>
      <Notice kind="error">{error}</Notice>

      <div className="panel">
        <div className={over ? 'drop over' : 'drop'} onDragOver={onDragOver} onDragEnter={onDragOver} onDragLeave={onDragLeave} onDrop={onDrop}>
          <p>Drop a .env file here, or</p>
          <label htmlFor={inputId}>Choose a .env file</label>{' '}
          <input
            id={inputId}
            ref={fileInput}
            type="file"
            accept=".env,text/plain,*"
            disabled={busy !== null}
            onChange={(e) => void read(e.target.files?.[0])}
          />
        </div>
        <p role="status" aria-live="polite">
          {busy === 'reading' ? 'Reading the file…' : fileName ? `${fileName}: ${names.length} ${names.length === 1 ? 'variable' : 'variables'} read.` : null}
        </p>

        <div className="field">
          <label>
            <input
              type="checkbox"
              checked={skipEmpty}
              onChange={(e) => {
                setSkipEmpty(e.target.checked);
                setPlan(null);
              }}
            />{' '}
            Skip empty values
          </label>
          <small className="hint">Otherwise a variable set to nothing (FLAG=) is refused: the service stores no empty value.</small>
        </div>

        {canReveal ? (
          <TextField
            label={reasonRequired ? 'Reason for comparing (required)' : 'Reason for comparing (optional)'}
            required={reasonRequired}
            value={reason}
            autoComplete="off"
            onChange={(e) => {
              setReason(e.target.value);
              setPlan(null);
            }}
            hint={`The stored values are revealed to compare them with the file's; each reveal is audited with this reason${reasonRequired ? ', which this key must give' : ` (empty: “${DEFAULT_REASON}”)`}.`}
          />
        ) : (
          <p className="muted">This key lacks the secrets:reveal scope: existing secrets cannot be compared, so each is planned as an update.</p>
        )}

        <div className="actions">
          <button type="button" className="primary" disabled={dryRunBlocked} onClick={() => void dryRun()}>
            Dry run
          </button>
          {busy === 'planning' || busy === 'applying' ? (
            <span role="status" aria-live="polite" className="muted">
              {busy === 'planning' ? 'Planning' : 'Applying'}
              {progress ? ` ${progress.done} of ${progress.of}` : ''}…
            </span>
          ) : null}
        </div>
      </div>

      {plan ? (
        <>
          <h2>Plan</h2>
          <p className="muted">
            {count(plan, (r) => r.plan === 'create')} to create, {count(plan, (r) => r.plan === 'update')} to update,{' '}
            {count(plan, (r) => r.plan === 'unchanged')} unchanged, {count(plan, (r) => r.plan === 'refused')} refused
            {count(plan, (r) => r.plan === 'skipped') > 0 ? `, ${count(plan, (r) => r.plan === 'skipped')} skipped` : ''}.
          </p>
          <VerdictTable heading="Plan" rows={plan.map((row) => ({ ...row, verdict: row.plan }))} />
          <div className="actions">
            {writeReason ? (
              <>
                <button type="button" className="primary" disabled title={writeReason}>
                  Apply
                </button>
                <span className="muted">{writeReason}</span>
              </>
            ) : (
              <>
                <button type="button" className="primary" disabled={busy !== null || changes === 0} onClick={() => void apply()}>
                  Apply
                </button>
                {changes === 0 ? <span className="muted">Nothing to change.</span> : null}
              </>
            )}
          </div>
        </>
      ) : null}

      {results ? (
        <>
          <h2>Result</h2>
          <Notice kind={count(results, (r) => r.outcome === 'refused') > 0 ? 'error' : 'ok'}>
            {count(results, (r) => r.outcome === 'created')} created, {count(results, (r) => r.outcome === 'updated')} updated,{' '}
            {count(results, (r) => r.outcome === 'unchanged')} unchanged, {count(results, (r) => r.outcome === 'refused')} refused
            {count(results, (r) => r.outcome === 'skipped') > 0 ? `, ${count(results, (r) => r.outcome === 'skipped')} skipped` : ''}
          </Notice>
          <VerdictTable heading="Result" rows={results.map((row) => ({ ...row, verdict: row.outcome }))} />
        </>
      ) : null}
    </section>
  );
}
