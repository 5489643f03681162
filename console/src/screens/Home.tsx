import { Link, Navigate } from 'react-router';
import { useSession } from '../session.tsx';

/** The console's start: the secrets of the key's own environment. */
export function Home() {
  const { viewer } = useSession();
  return <Navigate to={`/e/${encodeURIComponent(viewer.environment ?? 'default')}/secrets`} replace />;
}

export function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        No screen here. <Link to="/">Go to the secrets</Link>.
      </p>
    </section>
  );
}
