// The console's small shared parts: fields with the server's messages beside
// them, notices, one-time values with a copy button, times, paging.
import { useEffect, useId, useState, type InputHTMLAttributes, type ReactNode } from 'react';
import type { Failure } from './api.ts';

/** The message the server gave for the input at `path` (a ValidationError field). */
export function fieldError(failure: Failure | null, ...path: string[]): string | undefined {
  return failure?.fields?.find((f) => f.path.join('.') === path.join('.') || f.path.at(-1) === path.at(-1))?.message;
}

export function Field(props: {
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [props.error ? errorId : null, props.hint ? hintId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.children(id, describedBy)}
      {props.hint ? (
        <small id={hintId} className="hint">
          {props.hint}
        </small>
      ) : null}
      {props.error ? (
        <small id={errorId} className="field-error" role="alert">
          {props.error}
        </small>
      ) : null}
    </div>
  );
}

export function TextField(props: { label: string; error?: string | undefined; hint?: ReactNode } & InputHTMLAttributes<HTMLInputElement>) {
  const { label, error, hint, ...input } = props;
  return (
    <Field label={label} error={error} hint={hint}>
      {(id, describedBy) => <input id={id} aria-describedby={describedBy} aria-invalid={error ? true : undefined} {...input} />}
    </Field>
  );
}

export function Notice(props: { kind: 'error' | 'ok' | 'info'; children: ReactNode }) {
  if (props.children === null || props.children === undefined || props.children === '') return null;
  return (
    <div className={`notice notice-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

/** A control this key may not use: shown disabled, with the reason. */
export function Unavailable(props: { reason: string | null; children: ReactNode }) {
  if (props.reason === null) return <>{props.children}</>;
  return <p className="unavailable">{props.reason}</p>;
}

export function CopyButton(props: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(t);
  }, [copied]);
  return (
    <button
      type="button"
      onClick={() => {
        navigator.clipboard?.writeText(props.text).then(
          () => setCopied(true),
          () => setCopied(false),
        );
      }}
    >
      {copied ? 'Copied' : (props.label ?? 'Copy')}
    </button>
  );
}

/** A value shown once (a new key, a signing secret): it is not kept anywhere once dismissed. */
export function ShownOnce(props: { title: string; value: string; onDone: () => void }) {
  return (
    <div className="once" role="status">
      <p>
        <strong>{props.title}</strong> It is shown this once: copy it now.
      </p>
      <code className="secret-value" data-secret-shown>
        {props.value}
      </code>
      <div className="actions">
        <CopyButton text={props.value} />
        <button type="button" onClick={props.onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

const formatter = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function Time(props: { at: string | null | undefined; empty?: string }) {
  if (!props.at) return <span className="muted">{props.empty ?? '—'}</span>;
  return <time dateTime={props.at}>{formatter.format(new Date(props.at))}</time>;
}

/** "in 3 days", "2 h ago": for expiries and restore windows. */
export function relative(at: string, now = Date.now()): string {
  const ms = new Date(at).getTime() - now;
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const abs = Math.abs(ms);
  if (abs >= 86_400_000) return rtf.format(Math.round(ms / 86_400_000), 'day');
  if (abs >= 3_600_000) return rtf.format(Math.round(ms / 3_600_000), 'hour');
  return rtf.format(Math.round(ms / 60_000), 'minute');
}

/** Forward paging over a connection: a stack of cursors for "previous". */
export function usePager(resetOn: unknown) {
  const [stack, setStack] = useState<(string | null)[]>([null]);
  useEffect(() => setStack([null]), [resetOn]);
  return {
    after: stack.at(-1) ?? null,
    page: stack.length,
    next: (endCursor: string | null | undefined) => endCursor && setStack((s) => [...s, endCursor]),
    previous: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
  };
}

export function Pager(props: { page: number; hasNext: boolean; onPrevious: () => void; onNext: () => void }) {
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" onClick={props.onPrevious} disabled={props.page <= 1}>
        Previous
      </button>
      <span>Page {props.page}</span>
      <button type="button" onClick={props.onNext} disabled={!props.hasNext}>
        Next
      </button>
    </nav>
  );
}

/** `datetime-local` input text to an ISO instant (empty: null). */
export function isoFromLocal(text: string): string | null {
  return text ? new Date(text).toISOString() : null;
}
export function localFromIso(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * A failed mutation in the server's words: its message, or for a
 * ValidationError the messages of the fields no input on the form shows
 * (those beside an input are not repeated).
 */
export function FailureNotice(props: { failure: Failure | null; beside: readonly string[] }) {
  const { failure } = props;
  if (!failure) return null;
  if (failure.__typename !== 'ValidationError') return <Notice kind="error">{failure.message}</Notice>;
  const elsewhere = (failure.fields ?? []).filter((f) => !props.beside.includes(f.path.at(-1) ?? ''));
  if (elsewhere.length === 0) return null;
  return <Notice kind="error">{elsewhere.map((f) => f.message).join(' ')}</Notice>;
}
