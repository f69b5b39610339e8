// Subscribes through npm graphql-ws and prints each event payload as one JSON line on stdout.
//
//   node subscribe.mjs URL TOKEN QUERY [VARIABLES_JSON]
//
// TOKEN may be "-" for none. Lines: {"connected":true} once the server acknowledged the
// connection, then {"next": payload} per event, {"error": …} or {"closed": {code, reason}}.
// Runs until stdin closes (the test drops it) or the subscription completes.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, query, variables] = process.argv.slice(2);
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  retryAttempts: 0,
  lazy: false,
  connectionParams: token && token !== '-' ? { authorization: `Bearer ${token}` } : {},
  on: {
    connected: () => print({ connected: true }),
    closed: (e) => print({ closed: { code: e?.code, reason: e?.reason } }),
  },
});

client.subscribe(
  { query, variables: variables ? JSON.parse(variables) : {} },
  {
    next: (payload) => print({ next: payload }),
    error: (error) => {
      const e = Array.isArray(error) ? error : { code: error?.code, reason: error?.reason, message: error?.message };
      print({ error: e });
      process.exit(0);
    },
    complete: () => {
      print({ complete: true });
      process.exit(0);
    },
  },
);

process.stdin.on('end', () => {
  client.dispose();
  process.exit(0);
});
process.stdin.resume();
