// The signed-in key and what it may do. The key lives in sessionStorage only:
// gone when the tab closes, never in localStorage, a cookie or the URL.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { onUnauthorized, request } from './api.ts';
import { graphql, type ResultOf } from './graphql.ts';

const STORAGE = 'secrets-console.key';

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      keyId
      projectId
      scopes
      environment
      expiresAt
      requireRevealReason
    }
  }
`);
export type Viewer = ResultOf<typeof ViewerQuery>['viewer'];

export type Scope = 'secrets:read' | 'secrets:write' | 'secrets:reveal' | 'keys:manage' | 'webhooks:manage';

interface Session {
  readonly key: string;
  readonly viewer: Viewer;
  can(scope: Scope): boolean;
  signOut(): void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

/** Why a control is unavailable to this key, or null when it is available. */
export function missing(session: Session, scope: Scope): string | null {
  return session.can(scope) ? null : `This key lacks the ${scope} scope.`;
}

export function readStoredKey(): string | null {
  return sessionStorage.getItem(STORAGE);
}

/** Checks a key against the service; stores it only once the service accepts it. */
export async function signIn(key: string): Promise<Viewer> {
  const { viewer } = await request(key, ViewerQuery);
  sessionStorage.setItem(STORAGE, key);
  return viewer;
}

export function SessionProvider(props: { keyValue: string; viewer: Viewer; onSignOut: () => void; children: ReactNode }) {
  const { keyValue, viewer, onSignOut } = props;
  const signOut = useCallback(() => {
    sessionStorage.removeItem(STORAGE);
    onSignOut();
  }, [onSignOut]);
  useEffect(() => onUnauthorized(signOut), [signOut]);
  const session = useMemo<Session>(() => ({ key: keyValue, viewer, can: (scope) => viewer.scopes.includes(scope), signOut }), [keyValue, viewer, signOut]);
  return <SessionContext.Provider value={session}>{props.children}</SessionContext.Provider>;
}

export function useStoredSession() {
  const [state, setState] = useState<{ key: string; viewer: Viewer } | null | 'checking'>(() => (readStoredKey() ? 'checking' : null));
  useEffect(() => {
    const key = readStoredKey();
    if (state !== 'checking' || !key) return;
    request(key, ViewerQuery).then(
      ({ viewer }) => setState({ key, viewer }),
      () => {
        sessionStorage.removeItem(STORAGE);
        setState(null);
      },
    );
  }, [state]);
  return [state, setState] as const;
}
