// The frame of every screen: sign-in when there is no key, else the key's
// project and rights, the environment switcher and the screens' links.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { NavLink, Outlet, useLocation, useMatch, useNavigate } from 'react-router';
import { ApiError } from '../api.ts';
import { useQuery } from '../data.ts';
import { graphql } from '../graphql.ts';
import { SessionProvider, signIn, useSession, useStoredSession } from '../session.tsx';
import { Notice, TextField, Time } from '../ui.tsx';

export const EnvironmentsQuery = graphql(`
  query Environments {
    environments {
      id
      slug
      name
      createdAt
    }
  }
`);

const ENVIRONMENTS_CHANGED = 'secrets-console:environments-changed';
/** Tells the frame's environment switcher to load the list again (a screen created or deleted one). */
export function announceEnvironmentsChanged() {
  window.dispatchEvent(new Event(ENVIRONMENTS_CHANGED));
}

export function Layout() {
  const [state, setState] = useStoredSession();
  const onSignOut = useCallback(() => setState(null), [setState]);
  if (state === 'checking') return <p className="center">Checking the key…</p>;
  if (state === null) return <SignIn onSignedIn={(key, viewer) => setState({ key, viewer })} />;
  return (
    <SessionProvider keyValue={state.key} viewer={state.viewer} onSignOut={onSignOut}>
      <Frame />
    </SessionProvider>
  );
}

function SignIn(props: { onSignedIn: (key: string, viewer: Awaited<ReturnType<typeof signIn>>) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const trimmed = key.trim();
      props.onSignedIn(trimmed, await signIn(trimmed));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'The key could not be checked.');
    } finally {
      setBusy(false);
    }
  }
  return (
    <main className="signin">
      <h1>Secrets console</h1>
      <p>Sign in with an API key of your project. It is kept in this tab only (sessionStorage) and sent to this service alone.</p>
      <form onSubmit={submit}>
        <TextField
          label="API key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={key}
          onChange={(e) => setKey(e.target.value)}
          error={error ?? undefined}
          hint="`npm start` prints a dev key when it creates the dev project."
        />
        <button type="submit" className="primary" disabled={busy || key.trim() === ''}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function Frame() {
  const session = useSession();
  const { viewer } = session;
  const match = useMatch('/e/:env/*');
  const env = match?.params.env ?? viewer.environment ?? 'default';
  const location = useLocation();
  const navigate = useNavigate();
  const environments = useQuery(EnvironmentsQuery, {}, !session.can('secrets:read'));
  const reloadEnvironments = environments.reload;
  useEffect(() => {
    window.addEventListener(ENVIRONMENTS_CHANGED, reloadEnvironments);
    return () => window.removeEventListener(ENVIRONMENTS_CHANGED, reloadEnvironments);
  }, [reloadEnvironments]);
  const slugs = environments.data?.environments.map((e) => e.slug) ?? [env];
  const screen = /^\/e\/[^/]+\/(secrets|deleted|import)/.exec(location.pathname)?.[1] ?? 'secrets';
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <div className="brand">Secrets</div>
        <label className="env-switch">
          <span>Environment</span>
          <select
            value={env}
            disabled={viewer.environment !== null}
            title={viewer.environment !== null ? `This key is bound to ${viewer.environment}` : undefined}
            onChange={(e) => navigate(`/e/${encodeURIComponent(e.target.value)}/${screen}`)}
          >
            {(slugs.includes(env) ? slugs : [env, ...slugs]).map((slug) => (
              <option key={slug} value={slug}>
                {slug}
              </option>
            ))}
          </select>
        </label>
        <nav aria-label="Screens" className="nav">
          <NavLink to={`/e/${encodeURIComponent(env)}/secrets`}>Secrets</NavLink>
          <NavLink to={`/e/${encodeURIComponent(env)}/deleted`}>Deleted</NavLink>
          <NavLink to={`/e/${encodeURIComponent(env)}/import`}>Import</NavLink>
          <NavLink to="/environments">Environments</NavLink>
          <NavLink to="/matrix">Matrix</NavLink>
          <NavLink to="/audit">Audit</NavLink>
          <NavLink to="/keys">API keys</NavLink>
          <NavLink to="/webhooks">Webhooks</NavLink>
        </nav>
        <button type="button" className="signout" onClick={session.signOut}>
          Sign out
        </button>
      </header>
      <aside className="viewer" aria-label="This key">
        <span>
          Project <code>{viewer.projectId}</code>
        </span>
        <span>
          Key <code>{viewer.keyId}</code>
        </span>
        <span>{viewer.environment ? `Bound to ${viewer.environment}` : 'All environments'}</span>
        <span>
          Scopes: <span data-testid="scopes">{viewer.scopes.join(', ')}</span>
        </span>
        <span>
          Expires <Time at={viewer.expiresAt} empty="never" />
        </span>
        {viewer.requireRevealReason ? <span>Reveals need a reason</span> : null}
      </aside>
      <main id="main" className="content" tabIndex={-1}>
        <Notice kind="error">{environments.error}</Notice>
        <Outlet />
      </main>
    </div>
  );
}
