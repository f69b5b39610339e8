// GraphQL-over-HTTP conformance audit of a running gridgov (npm package graphql-http).
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
// Prints every result; exits 1 when any result is an `error`.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}
const results = await auditServer({ url });
let errors = 0;
for (const r of results) {
  const line = `${r.status.padEnd(7)} ${r.id} ${r.name}`;
  if (r.status === 'error') {
    errors += 1;
    console.log(line, '\n        ', r.reason);
  } else {
    console.log(line);
  }
}
const count = (s) => results.filter((r) => r.status === s).length;
console.log(`${count('ok')} ok, ${count('warn')} warn, ${errors} error`);
process.exit(errors > 0 ? 1 : 0);
