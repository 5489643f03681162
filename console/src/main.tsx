// The console: a React app served by the service under /console, talking to
// its GraphQL API only. Each screen is a route, so a link can be shared.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import { Layout } from './screens/Layout.tsx';
import { Secrets } from './screens/Secrets.tsx';
import { NewSecret } from './screens/NewSecret.tsx';
import { SecretDetail } from './screens/SecretDetail.tsx';
import { Deleted } from './screens/Deleted.tsx';
import { Environments } from './screens/Environments.tsx';
import { Matrix } from './screens/Matrix.tsx';
import { Audit } from './screens/Audit.tsx';
import { ApiKeys } from './screens/ApiKeys.tsx';
import { Webhooks } from './screens/Webhooks.tsx';
import { WebhookDeliveries } from './screens/WebhookDeliveries.tsx';
import { Import } from './screens/Import.tsx';
import { Home, NotFound } from './screens/Home.tsx';
import './styles.css';

const router = createBrowserRouter(
  [
    {
      element: <Layout />,
      children: [
        { index: true, element: <Home /> },
        { path: 'e/:env', element: <Navigate to="secrets" replace /> },
        { path: 'e/:env/secrets', element: <Secrets /> },
        { path: 'e/:env/secrets/new', element: <NewSecret /> },
        { path: 'e/:env/secrets/:id', element: <SecretDetail /> },
        { path: 'e/:env/deleted', element: <Deleted /> },
        { path: 'e/:env/import', element: <Import /> },
        { path: 'environments', element: <Environments /> },
        { path: 'matrix', element: <Matrix /> },
        { path: 'audit', element: <Audit /> },
        { path: 'keys', element: <ApiKeys /> },
        { path: 'webhooks', element: <Webhooks /> },
        { path: 'webhooks/:id', element: <WebhookDeliveries /> },
        { path: '*', element: <NotFound /> },
      ],
    },
  ],
  { basename: '/console' },
);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RouterProvider router={router} />
  </StrictMode>,
);
