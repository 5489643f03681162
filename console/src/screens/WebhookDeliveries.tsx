// A webhook's deliveries, newest event first: how each event's attempts went
// (status, response code, the last error), a page at a time.
import { Link, useParams } from 'react-router';
import { useQuery } from '../data.ts';
import { FailureFields } from '../operations.ts';
import { graphql } from '../graphql.ts';
import { missing, useSession } from '../session.tsx';
import { Notice, Pager, Time, usePager } from '../ui.tsx';
import { WebhooksQuery } from './Webhooks.tsx';

const PAGE_SIZE = 50;

const DeliveriesQuery = graphql(
  `
    query WebhookDeliveries($id: ID!, $first: Int, $after: String) {
      webhookDeliveries(id: $id, first: $first, after: $after) {
        __typename
        ... on WebhookDeliveryConnection {
          edges {
            node {
              id
              eventId
              eventType
              status
              attempts
              createdAt
              deliveredAt
              lastAttemptAt
              lastError
              lastResponseCode
              nextAttemptAt
            }
          }
          pageInfo {
            hasNextPage
            endCursor
          }
        }
        ...Failure
      }
    }
  `,
  [FailureFields],
);

function StatusBadge(props: { status: 'DELIVERED' | 'FAILED' | 'PENDING' }) {
  const kind = props.status === 'DELIVERED' ? 'badge badge-ok' : props.status === 'FAILED' ? 'badge badge-bad' : 'badge';
  return <span className={kind}>{props.status.toLowerCase()}</span>;
}

export function WebhookDeliveries() {
  const id = useParams().id!;
  const session = useSession();
  const reason = missing(session, 'webhooks:manage');
  const pager = usePager(id);
  const deliveries = useQuery(DeliveriesQuery, { id, first: PAGE_SIZE, after: pager.after }, reason !== null);
  const hooks = useQuery(WebhooksQuery, {}, reason !== null);

  if (reason) return <Notice kind="info">{reason}</Notice>;

  const hook = hooks.data?.webhooks.find((h) => h.id === id);
  const result = deliveries.data?.webhookDeliveries;
  const connection = result?.__typename === 'WebhookDeliveryConnection' && 'edges' in result ? result : null;
  const failure = result && result.__typename !== 'WebhookDeliveryConnection' && 'message' in result ? result.message : null;
  const edges = connection?.edges ?? [];

  return (
    <section>
      <p>
        <Link to="/webhooks">← Webhooks</Link>
      </p>
      <div className="heading">
        <h1>
          Deliveries{' '}
          {hook ? (
            <span className="muted">
              to <code>{hook.url}</code>
            </span>
          ) : null}
        </h1>
        <button type="button" onClick={deliveries.reload} disabled={deliveries.loading}>
          Reload
        </button>
      </div>
      {hook ? (
        <p className="muted">
          Events: {hook.events.length > 0 ? hook.events.map((e) => e.toLowerCase()).join(', ') : 'all'} · Environment: {hook.environment ?? 'all'}
        </p>
      ) : null}
      <Notice kind="error">{deliveries.error ?? failure}</Notice>
      <Notice kind="error">{hooks.error}</Notice>
      <div className="table-wrap">
        <table aria-busy={deliveries.loading}>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Event type</th>
              <th scope="col">Event id</th>
              <th scope="col">Created</th>
              <th scope="col">Last attempt</th>
              <th scope="col">Next attempt</th>
              <th scope="col">Response code</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {edges.map(({ node }) => (
              <tr key={node.id}>
                <td data-label="Status">
                  <StatusBadge status={node.status} />
                  {node.deliveredAt ? (
                    <>
                      {' '}
                      <Time at={node.deliveredAt} />
                    </>
                  ) : null}
                </td>
                <td data-label="Attempts">{node.attempts}</td>
                <td data-label="Event type">{node.eventType.toLowerCase()}</td>
                <td data-label="Event id">
                  <code>{node.eventId}</code>
                </td>
                <td data-label="Created">
                  <Time at={node.createdAt} />
                </td>
                <td data-label="Last attempt">
                  <Time at={node.lastAttemptAt} />
                </td>
                <td data-label="Next attempt">
                  <Time at={node.nextAttemptAt} />
                </td>
                <td data-label="Response code">{node.lastResponseCode ?? <span className="muted">—</span>}</td>
                <td data-label="Last error">{node.lastError ?? <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!deliveries.loading && connection && edges.length === 0 ? <p className="empty">No deliveries yet: events are sent as secrets change.</p> : null}
      </div>
      <Pager
        page={pager.page}
        hasNext={connection?.pageInfo.hasNextPage ?? false}
        onPrevious={pager.previous}
        onNext={() => pager.next(connection?.pageInfo.endCursor)}
      />
    </section>
  );
}
