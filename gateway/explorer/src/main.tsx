/**
 * The gateway's explorer: GraphiQL on the gateway's own `/graphql`, queries and mutations over
 * HTTP, subscriptions over graphql-ws on the same path, with the headers editor's contents (the
 * sign-in panel's token among them) sent as `connection_init` parameters. Every script, worker,
 * style and font comes from the gateway (build.mjs), so it works offline.
 */
import 'graphiql/style.css';
import './explorer.css';
import { GraphiQL } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { gatewayFetcher } from './fetcher.js';
import { EXAMPLE_OPERATIONS } from './operations.js';
import { SessionHeaders, signInPlugin } from './sign-in.js';

/** The workers' URLs, by the label Monaco asks for (set by build.mjs). */
declare const __EXPLORER_WORKERS__: Record<string, string>;

(globalThis as { MonacoEnvironment?: unknown }).MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    return new Worker(__EXPLORER_WORKERS__[label] ?? __EXPLORER_WORKERS__.editor!, { name: label });
  },
};

const container = document.getElementById('graphiql')!;
const endpoint = new URL(container.dataset.endpoint ?? '/graphql', location.href);
const fetcher = gatewayFetcher(endpoint);
const plugins = [signInPlugin(endpoint.href)];

container.textContent = '';
createRoot(container).render(
  <StrictMode>
    <GraphiQL
      fetcher={fetcher}
      plugins={plugins}
      defaultTabs={EXAMPLE_OPERATIONS.map(({ query, variables }) => ({ query, variables }))}
      defaultEditorToolsVisibility="headers"
    >
      <GraphiQL.Toolbar>
        {({ prettify, merge, copy }) => (
          <>
            {prettify}
            {merge}
            {copy}
            <SessionHeaders />
          </>
        )}
      </GraphiQL.Toolbar>
    </GraphiQL>
  </StrictMode>,
);
