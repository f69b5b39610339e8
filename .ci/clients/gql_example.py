"""Python `gql` against a live gridgov: a query, a mutation with variables, and a subscription
over graphql-transport-ws that sees the mutation. The snippets of docs/clients.md, run.

    python gql_example.py HTTP_URL API_KEY

Exits non-zero when a check fails.
"""

import asyncio
import sys

from gql import Client, GraphQLRequest, gql
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

URL, KEY = sys.argv[1], sys.argv[2]
WS_URL = URL.replace("http", "ws", 1) + "/ws"
failures = 0


def check(ok, what, got=None):
    global failures
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures += 1
        if got is not None:
            print(f"       got: {got!r}")


SERVICES = gql(
    """
    query Published($first: Int!) {
      services(first: $first, filter: { status: [PUBLISHED] }) {
        totalCount
        nodes { id title version }
      }
    }
    """
)

RENAME = gql(
    """
    mutation Rename($id: ID!, $title: String!, $version: Int) {
      updateService(id: $id, input: { title: $title }, expectedVersion: $version) {
        service { id title version }
      }
    }
    """
)

WATCH = gql("subscription { serviceChanged { kind objectId node { title } } }")


async def main():
    print("gql: query, mutation, subscription")
    http = AIOHTTPTransport(url=URL, headers={"Authorization": f"Bearer {KEY}"})
    async with Client(transport=http) as session:
        SERVICES.variable_values = {"first": 2}
        result = await session.execute(SERVICES)
        services = result["services"]["nodes"]
        check(len(services) == 2, "the query returns two services", result)
        service = services[0]

        ws = WebsocketsTransport(
            url=WS_URL,
            init_payload={"authorization": f"Bearer {KEY}"},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        )
        async with Client(transport=ws) as subscriber:
            check(ws.subprotocol == "graphql-transport-ws", "the server speaks graphql-transport-ws", ws.subprotocol)
            events = subscriber.subscribe(WATCH)
            # The subscription is registered once its first message has been sent; start
            # waiting for the event, then make the change.
            first_event = asyncio.ensure_future(events.__anext__())
            await asyncio.sleep(0.3)

            title = service["title"] + " (changed by gql)"
            changed = await session.execute(
                GraphQLRequest(
                    RENAME,
                    variable_values={"id": service["id"], "title": title, "version": service["version"]},
                )
            )
            check(
                changed["updateService"]["service"]["version"] == service["version"] + 1,
                "the mutation bumps the version",
                changed,
            )
            event = await asyncio.wait_for(first_event, 10)
            check(
                event["serviceChanged"]["objectId"] == service["id"]
                and event["serviceChanged"]["node"]["title"] == title,
                "the subscription delivers the change",
                event,
            )
            await events.aclose()

        # A stale expectedVersion is a GraphQL error with a stable code.
        try:
            await session.execute(
                GraphQLRequest(RENAME, variable_values={"id": service["id"], "title": "x", "version": 1})
            )
            check(False, "a stale expectedVersion is refused")
        except TransportQueryError as e:
            codes = [err.get("extensions", {}).get("code") for err in e.errors or []]
            check(codes == ["CONFLICT"], "a stale expectedVersion is CONFLICT", e.errors)

    print("gql: all checks passed" if failures == 0 else f"gql: {failures} check(s) failed")
    return 0 if failures == 0 else 1


sys.exit(asyncio.run(main()))
