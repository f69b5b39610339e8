// Apollo Client 4 against a live gridgov, written the way a portal team would set it up:
// HttpLink (with fetch) behind PersistedQueryLink (APQ), an InMemoryCache whose connections merge
// with relayStylePagination(), and GraphQLWsLink for subscriptions.
//
//   node apollo.mjs HTTP_URL API_KEY [CHECK…]
//
// HTTP_URL is the GraphQL endpoint (http://127.0.0.1:PORT/graphql), API_KEY an ADMIN key. CHECK
// picks checks by name (default: all of them): unauthenticated apq pagination subscription.
// Exits non-zero when any assertion fails, printing what was expected and what arrived.
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, ServerError, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { relayStylePagination } from '@apollo/client/utilities';
import { OperationTypeNode } from 'graphql';
import { createClient as createWsClient } from 'graphql-ws';
import { createHash } from 'node:crypto';
import WebSocket from 'ws';

const [url, apiKey, ...only] = process.argv.slice(2);
if (!url || !apiKey) {
  console.error('usage: node apollo.mjs HTTP_URL API_KEY [CHECK…]');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// The client set-up a portal would ship.

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

const cache = () =>
  new InMemoryCache({
    typePolicies: {
      Query: {
        fields: {
          // One cached list per filter and ordering; `first`/`after` pages merge into it.
          grids: relayStylePagination(['filter', 'orderBy']),
          people: relayStylePagination(['filter', 'orderBy']),
          services: relayStylePagination(['filter', 'orderBy']),
        },
      },
    },
  });

// APQ_OFF=1 leaves PersistedQueryLink out of the clients of the other checks, to try them against
// a server without APQ.
const apqDefault = !process.env.APQ_OFF;

/// A client, and the log of every HTTP exchange it made (request body, status, headers, body).
function portalClient({ token, apq = apqDefault, useGETForHashedQueries = false, wsClient } = {}) {
  const exchanges = [];
  const recordingFetch = async (input, init = {}) => {
    const response = await fetch(input, init);
    const requestUrl = new URL(typeof input === 'string' ? input : input.url);
    let request;
    if ((init.method ?? 'GET').toUpperCase() === 'GET') {
      request = Object.fromEntries(requestUrl.searchParams);
      for (const k of ['variables', 'extensions']) if (request[k]) request[k] = JSON.parse(request[k]);
    } else {
      request = JSON.parse(init.body);
    }
    let body;
    try {
      body = await response.clone().json();
    } catch {
      body = undefined;
    }
    exchanges.push({
      method: (init.method ?? 'GET').toUpperCase(),
      request,
      status: response.status,
      contentType: response.headers.get('content-type'),
      wwwAuthenticate: response.headers.get('www-authenticate'),
      body,
    });
    return response;
  };
  const http = new HttpLink({
    uri: url,
    fetch: recordingFetch,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const httpChain = apq ? ApolloLink.from([new PersistedQueryLink({ sha256, useGETForHashedQueries }), http]) : http;
  // Subscriptions over the WebSocket, everything else over HTTP.
  const link = wsClient
    ? ApolloLink.split((op) => op.operationType === OperationTypeNode.SUBSCRIPTION, new GraphQLWsLink(wsClient), httpChain)
    : httpChain;
  return { client: new ApolloClient({ link, cache: cache() }), exchanges };
}

// ---------------------------------------------------------------------------------------------
// Assertions.

let failures = 0;
function check(ok, what, detail) {
  if (ok) {
    console.log(`  ok   ${what}`);
  } else {
    failures += 1;
    console.log(`  FAIL ${what}`);
    if (detail !== undefined) console.log(`       got: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
  }
  return ok;
}
const codesOf = (body) => (body?.errors ?? []).map((e) => e?.extensions?.code);

// ---------------------------------------------------------------------------------------------
// (1) A bad credential reaches the client as a GraphQL error with code UNAUTHENTICATED.

async function unauthenticated() {
  console.log('unauthenticated: a bad API key');
  const { client, exchanges } = portalClient({ token: 'gg_this_key_does_not_exist', apq: false });
  let error;
  try {
    await client.query({ query: gql`query BadKey { grids(first: 1) { totalCount } }` });
  } catch (e) {
    error = e;
  }
  const x = exchanges[0];
  check(x?.status === 401, 'HTTP status is 401', x?.status);
  check(/^Bearer\b/i.test(x?.wwwAuthenticate ?? ''), 'WWW-Authenticate: Bearer …', x?.wwwAuthenticate);
  check(
    (x?.contentType ?? '').startsWith('application/graphql-response+json'),
    "Apollo's default Accept gets application/graphql-response+json",
    x?.contentType,
  );
  check(codesOf(x?.body).includes('UNAUTHENTICATED'), 'the body is a GraphQL response with code UNAUTHENTICATED', x?.body);
  check(error !== undefined, 'client.query rejects');
  check(!ServerError.is(error), 'the error is not a bare ServerError', error?.name);
  if (check(CombinedGraphQLErrors.is(error), 'the error is CombinedGraphQLErrors', `${error?.name}: ${error?.message}`)) {
    check(
      error.errors[0]?.extensions?.code === 'UNAUTHENTICATED',
      'errors[0].extensions.code === "UNAUTHENTICATED"',
      error.errors,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// (2) Automatic persisted queries: hash first, text on a miss, hash only afterwards.

const APQ_QUERY = gql`
  query ApqCommunities {
    grids(first: 5, filter: { level: COMMUNITY }, orderBy: { field: CODE, direction: ASC }) {
      totalCount
      nodes { id code name }
    }
  }
`;

async function apq() {
  console.log('apq: automatic persisted queries');
  const first = portalClient({ token: apiKey, apq: true });
  let data;
  try {
    ({ data } = await first.client.query({ query: APQ_QUERY }));
  } catch (e) {
    check(false, 'the first client gets its result', `${e?.name}: ${e?.message}`);
  }
  const [miss, retry] = first.exchanges;
  const hash = miss?.request?.extensions?.persistedQuery?.sha256Hash;
  check(/^[0-9a-f]{64}$/.test(hash ?? ''), 'the first request carries extensions.persistedQuery.sha256Hash', miss?.request);
  check(miss && !('query' in miss.request), 'the first request sends no query text', miss?.request);
  check(codesOf(miss?.body).includes('PERSISTED_QUERY_NOT_FOUND'), 'the server answers PERSISTED_QUERY_NOT_FOUND', miss?.body);
  check(typeof retry?.request?.query === 'string', 'the link retries with the query text', retry?.request);
  check(
    retry?.request?.extensions?.persistedQuery?.sha256Hash === hash && sha256(retry?.request?.query ?? '') === hash,
    'the retry carries the same hash, the SHA-256 of its text',
  );
  check(first.exchanges.length === 2, 'two requests in all', first.exchanges.length);
  check(data?.grids?.nodes?.length > 0, 'the result arrives', data);

  // A second instance (another browser): the server knows the hash now.
  const second = portalClient({ token: apiKey, apq: true });
  let again;
  try {
    ({ data: again } = await second.client.query({ query: APQ_QUERY }));
  } catch (e) {
    check(false, 'the second client gets its result', `${e?.name}: ${e?.message}`);
  }
  check(second.exchanges.length === 1, 'the second client sends one request', second.exchanges.length);
  check(second.exchanges[0] && !('query' in second.exchanges[0].request), 'that request carries the hash only', second.exchanges[0]?.request);
  check(again !== undefined && JSON.stringify(again) === JSON.stringify(data), 'and gets the same data', again);

  // Hashed queries over GET, as a CDN would cache them.
  const third = portalClient({ token: apiKey, apq: true, useGETForHashedQueries: true });
  let viaGet;
  try {
    ({ data: viaGet } = await third.client.query({ query: APQ_QUERY }));
  } catch (e) {
    check(false, 'the GET client gets its result', `${e?.name}: ${e?.message}`);
  }
  check(
    third.exchanges.length === 1 && third.exchanges[0].method === 'GET' && !('query' in third.exchanges[0].request),
    'a hashed query over GET is one request without text',
    third.exchanges.map((x) => [x.method, x.request]),
  );
  check(viaGet !== undefined && JSON.stringify(viaGet) === JSON.stringify(data), 'and gets the same data', viaGet);
}

// ---------------------------------------------------------------------------------------------
// (3) fetchMore over a connection until hasNextPage is false.

const GRID_PAGES = gql`
  query GridPages($first: Int!, $after: String) {
    grids(first: $first, after: $after, orderBy: { field: CODE, direction: ASC }) {
      totalCount
      edges { cursor node { id code name } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

async function pagination() {
  console.log('pagination: fetchMore with relayStylePagination');
  const { client, exchanges } = portalClient({ token: apiKey });
  const pageSize = 7;
  const watch = client.watchQuery({ query: GRID_PAGES, variables: { first: pageSize } });
  const firstResult = new Promise((resolve, reject) => {
    const sub = watch.subscribe({
      next: (r) => {
        if (r.data) resolve(r);
        if (r.error) reject(r.error);
      },
      error: reject,
    });
    setTimeout(() => sub.unsubscribe(), 60_000).unref();
  });
  let result = await firstResult;
  let pages = 1;
  const pageSizes = [result.data.grids.edges.length];
  while (result.data.grids.pageInfo.hasNextPage && pages < 100) {
    const page = await watch.fetchMore({ variables: { after: result.data.grids.pageInfo.endCursor } });
    pages += 1;
    // fetchMore resolves with the new page alone; the merged list is what the cache (and so
    // the watching component) now holds.
    result = { data: client.readQuery({ query: GRID_PAGES, variables: { first: pageSize } }) };
    pageSizes.push(page.data.grids.edges.length);
  }
  const { totalCount, edges } = result.data.grids;
  const ids = edges.map((e) => e.node.id);
  check(pages > 1, `more than one page of ${pageSize}`, pages);
  check(pageSizes.every((n, i) => n === pageSize || (i === pageSizes.length - 1 && n > 0)), 'full pages, the last one not empty', pageSizes);
  check(result.data.grids.pageInfo.hasNextPage === false, 'the last page says hasNextPage: false');
  check(ids.length === totalCount, `the merged list holds totalCount (${totalCount}) grids`, ids.length);
  check(new Set(ids).size === ids.length, 'no id repeats');
  const codes = edges.map((e) => e.node.code);
  check(codes.every((c, i) => i === 0 || codes[i - 1] < c), 'codes ascend across page boundaries');
  // (With APQ a page may take two exchanges, the miss and the retry, with the same variables.)
  const afters = new Set(exchanges.map((x) => x.request.variables?.after).filter((a) => typeof a === 'string'));
  check(afters.size === pages - 1, 'each later page was asked for with a new `after`', [...afters].length);

  // The same list in one big page, by a client with an empty cache.
  const big = portalClient({ token: apiKey });
  const { data } = await big.client.query({ query: GRID_PAGES, variables: { first: 100 } });
  if (totalCount <= 100) {
    check(
      JSON.stringify(data.grids.edges.map((e) => e.node.id)) === JSON.stringify(ids),
      'the pages equal one page of 100, in order',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// (4) A mutation seen through a subscription (GraphQLWsLink, graphql-transport-ws).

async function subscription() {
  console.log('subscription: GraphQLWsLink and a mutation');
  const wsClient = createWsClient({
    url: url.replace(/^http/, 'ws') + '/ws',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${apiKey}` },
    retryAttempts: 0,
  });
  const { client } = portalClient({ token: apiKey, wsClient });
  try {
    const { data } = await client.query({
      query: gql`query AnyService { services(first: 1, filter: { status: [PUBLISHED] }) { nodes { id title version } } }`,
    });
    const service = data.services.nodes[0];
    if (!check(service !== undefined, 'a published service to change')) return;

    const events = [];
    const connected = new Promise((resolve) => wsClient.on('connected', resolve));
    const seen = new Promise((resolve, reject) => {
      client
        .subscribe({
          query: gql`subscription Watch { serviceChanged { kind objectId node { id title } } }`,
        })
        .subscribe({
          next: (r) => {
            if (r.error) return reject(r.error);
            events.push(r.data.serviceChanged);
            if (r.data.serviceChanged.objectId === service.id) resolve();
          },
          error: reject,
        });
    });
    await connected;
    // graphql-ws resolves `connected` on connection_ack; give the server a moment to register
    // the subscription before the change is made.
    await new Promise((r) => setTimeout(r, 300));
    const title = `${service.title} (changed by apollo.mjs)`;
    const { data: changed } = await client.mutate({
      mutation: gql`
        mutation Rename($id: ID!, $title: String!, $version: Int) {
          updateService(id: $id, input: { title: $title }, expectedVersion: $version) { service { id title version } }
        }
      `,
      variables: { id: service.id, title, version: service.version },
    });
    check(changed.updateService.service.version === service.version + 1, 'the mutation bumps the version', changed);
    await Promise.race([seen, new Promise((_, reject) => setTimeout(() => reject(new Error('no event within 10 s')), 10_000))]);
    const event = events.find((e) => e.objectId === service.id);
    check(event?.kind === 'UPDATED' && event?.node?.title === title, 'the subscription delivers the change', event);
  } catch (e) {
    check(false, 'subscription', `${e?.name}: ${e?.message}`);
  } finally {
    await wsClient.dispose();
  }
}

// ---------------------------------------------------------------------------------------------

const checks = { unauthenticated, apq, pagination, subscription };
for (const name of only.length ? only : Object.keys(checks)) {
  if (!checks[name]) {
    console.error(`unknown check ${name}; one of ${Object.keys(checks).join(' ')}`);
    process.exit(2);
  }
  try {
    await checks[name]();
  } catch (e) {
    check(false, `${name} ran to its end`, `${e?.name}: ${e?.message}`);
  }
}
console.log(failures === 0 ? 'apollo client: all checks passed' : `apollo client: ${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
