// Screen: each secret name against the environments, its version in each one
// it lives in, and whether its values are equal everywhere (compared on the
// server by digests; no value comes to the page).
import { useState } from 'react';
import { Link } from 'react-router';
import { useQuery } from '../data.ts';
import { graphql } from '../graphql.ts';
import { missing, useSession } from '../session.tsx';
import { Notice } from '../ui.tsx';
import { EnvironmentsQuery } from './Layout.tsx';

const MatrixQuery = graphql(`
  query EnvironmentMatrix($names: [String!]) {
    environmentMatrix(names: $names) {
      name
      cells {
        environment
        version
        secret {
          id
        }
      }
      valuesEqual
    }
  }
`);

export function Matrix() {
  const session = useSession();
  const cannotRead = !session.can('secrets:read');
  const environments = useQuery(EnvironmentsQuery, {}, cannotRead);
  const matrix = useQuery(MatrixQuery, { names: null }, cannotRead);
  const [filter, setFilter] = useState('');

  const readReason = missing(session, 'secrets:read');
  if (readReason) return <Notice kind="info">{readReason}</Notice>;

  const rows = matrix.data?.environmentMatrix ?? [];
  // Columns: the environments in their order, then any a row names that the list did not.
  const columns = environments.data?.environments.map((e) => e.slug) ?? [];
  for (const row of rows) for (const cell of row.cells) if (!columns.includes(cell.environment)) columns.push(cell.environment);
  const shown = filter ? rows.filter((row) => row.name.includes(filter)) : rows;
  const revealReason = missing(session, 'secrets:reveal');

  return (
    <section>
      <h1>Environment matrix</h1>
      {revealReason ? <Notice kind="info">{revealReason} Comparing values needs secrets:reveal, so the Values column stays empty.</Notice> : null}
      <div className="toolbar">
        <label className="filter">
          <span>Filter by name</span>
          <input type="search" value={filter} placeholder="Names containing…" spellCheck={false} onChange={(e) => setFilter(e.target.value)} />
        </label>
      </div>
      <Notice kind="error">{environments.error ?? matrix.error}</Notice>
      <div className="table-wrap">
        <table aria-busy={matrix.loading || environments.loading}>
          <thead>
            <tr>
              <th scope="col">Name</th>
              {columns.map((env) => (
                <th scope="col" key={env}>
                  {env}
                </th>
              ))}
              <th scope="col">Values</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((row) => (
              <tr key={row.name}>
                <td data-label="Name">
                  <code>{row.name}</code>
                </td>
                {columns.map((env) => {
                  const cell = row.cells.find((c) => c.environment === env);
                  return (
                    <td data-label={env} key={env}>
                      {cell ? (
                        <Link
                          to={`/e/${encodeURIComponent(env)}/secrets/${encodeURIComponent(cell.secret.id)}`}
                          aria-label={`v${cell.version}: ${row.name} in ${env}`}
                        >
                          v{cell.version}
                        </Link>
                      ) : (
                        <span className="muted" title={`Not in ${env}`}>
                          —
                        </span>
                      )}
                    </td>
                  );
                })}
                <td data-label="Values">
                  {row.valuesEqual === true ? (
                    <span className="badge badge-ok">equal</span>
                  ) : row.valuesEqual === false ? (
                    <span className="badge badge-bad">different</span>
                  ) : (
                    <span className="muted" title={revealReason ?? 'Not compared: it lives in one environment.'}>
                      —
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {!matrix.loading && shown.length === 0 ? <p className="empty">{filter ? `No secret's name contains “${filter}”.` : 'No secrets yet.'}</p> : null}
      </div>
    </section>
  );
}
