"""Open311 GeoReport v2 clients against a live gridgov: the `georeport` package (a GET-only
client, so it reads as an anonymous caller) and plain `requests` for POST. The examples of
docs/open311.md, run.

    python open311_example.py HTTP_URL API_KEY

HTTP_URL is the GraphQL endpoint (`…/graphql`); API_KEY an ADMIN key. The script creates what
it needs itself (it does not rely on the demo data's incidents). Exits non-zero when a check
fails.
"""

import sys
import uuid

import requests
from georeport import GeoReport

URL, KEY = sys.argv[1], sys.argv[2]
ROOT = URL.rsplit("/graphql", 1)[0] + "/open311/v2"
failures = 0


def check(ok, what, got=None):
    global failures
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures += 1
        if got is not None:
            print(f"       got: {got!r}")


def graphql(query, variables=None):
    r = requests.post(
        URL,
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=30,
    )
    r.raise_for_status()
    body = r.json()
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


def post(**fields):
    return requests.post(f"{ROOT}/requests.json", data=fields, timeout=30)


marker = uuid.uuid4().hex[:8]
secret = f"李大爷家门口的路灯不亮 {marker}"
phone = "13812345678"
grid_code = graphql("{ grids(first: 1) { nodes { code } } }")["grids"]["nodes"][0]["code"]
anonymous = GeoReport(ROOT)

print("== services (georeport, anonymous)")
services = anonymous.get_service_list()
by_code = {s["service_code"]: s for s in services}
check(len(services) >= 22, "every category is a service", len(services))
light = by_code.get("CITY_STREETLIGHT", {})
check(light.get("group") == "城市管理", "group = the parent category's name", light)
check(light.get("metadata") is False and light.get("type") == "realtime", "metadata false, realtime", light)
definition = anonymous.get_service_definition("CITY_ROAD")
check(definition == {"service_code": "CITY_ROAD", "attributes": []}, "service definition", definition)
xml_services = GeoReport(ROOT, output_format="xml").get_service_list()
check(
    any(s.get("service_code") == "CITY_STREETLIGHT" for s in xml_services),
    "the XML variant parses with xmltodict",
    xml_services[:1],
)

print("== POST requests.json (requests, with the API key)")
r = post(
    api_key=KEY,
    service_code="CITY_STREETLIGHT",
    lat="37.3612",
    long="120.4021",
    address_string=f"金晖路{marker}号",
    description=secret,
    first_name="小",
    last_name="王",
    phone=phone,
    grid_code=grid_code,
)
check(r.status_code == 200, "POST answers 200", r.text)
created = r.json()[0]
rid = created.get("service_request_id")
check(bool(rid) and bool(created.get("service_notice")), "service_request_id and service_notice", created)
source = graphql("query($id: ID!) { incident(id: $id) { source status contactPhone } }", {"id": rid})["incident"]
check(source["source"] == "OPEN311", "an incident with source OPEN311 in GraphQL", source)

private = post(api_key=KEY, service_code="DISPUTE_NEIGHBOUR", address_string=f"文化路{marker}号", description=secret, grid_code=grid_code).json()[0]["service_request_id"]

print("== reading it back")
mine = requests.get(f"{ROOT}/requests/{rid}.json", params={"api_key": KEY}, timeout=30).json()[0]
check(mine["description"] == secret and mine["status"] == "open", "the key's caller sees it in full, open", mine)
public = anonymous.get_service_request(rid)
check(public["service_request_id"] == rid and public["status"] == "open", "georeport reads it anonymously", public)
check(public["description"] is None, "anonymous: no description", public)
check(public.get("address") is None and f"金晖路{marker}号" not in str(public), "anonymous: no address", public)
check(phone not in str(public) and "王" not in str(public), "anonymous: no contact", public)
listed = anonymous.get_service_requests(service_code="CITY_STREETLIGHT,DISPUTE_NEIGHBOUR", status="open")
ids = [x["service_request_id"] for x in listed]
check(rid in ids, "the new request is listed (service_code, status)", ids[:5])
check(private not in ids, "a request of a non-public category is not listed anonymously", ids[:5])
both = anonymous.get_service_requests(service_request_id=f"{rid},{private}")
check([x["service_request_id"] for x in both] == [rid], "by ids: only the public one", both)
xml_one = GeoReport(ROOT, output_format="xml").get_service_request(rid)
check(xml_one.get("status") == "open", "XML: one request", xml_one)

print("== status mapping")
graphql("mutation($id: ID!) { rejectIncident(id: $id, reason: $r) { incident { status } } }".replace("$r", '"重复上报"'), {"id": rid})
closed = requests.get(f"{ROOT}/requests.json", params={"api_key": KEY, "service_request_id": rid}, timeout=30).json()
check(closed and closed[0]["status"] == "closed", "REJECTED → closed", closed)
check(closed and "重复上报" in (closed[0]["status_notes"] or ""), "status_notes carry the rejection reason", closed)
graphql("mutation($id: ID!) { acceptIncident(id: $id) { incident { status } } }", {"id": private})
accepted = requests.get(f"{ROOT}/requests/{private}.json", params={"api_key": KEY}, timeout=30).json()[0]
check(accepted["status"] == "open", "ACCEPTED → open", accepted)
gone = requests.get(f"{ROOT}/requests/{rid}.json", timeout=30)
check(gone.status_code == 404, "a rejected request is not public", gone.status_code)

print("== errors in the spec's shape")
e = post(service_code="CITY_ROAD", lat="1", long="2")
check(e.status_code == 401 and e.json()[0]["code"] == 401, "no api_key → 401", e.text)
e = post(api_key=KEY, service_code="NO_SUCH", lat="1", long="2", grid_code=grid_code)
check(e.status_code == 404 and e.json()[0]["code"] == 404, "unknown service_code → 404", e.text)
e = post(api_key=KEY, service_code="CITY_ROAD", grid_code=grid_code)
check(e.status_code == 400 and "location" in e.json()[0]["description"], "no location → 400", e.text)
e = requests.get(f"{ROOT}/requests.json", params={"start_date": "yesterday"}, timeout=30)
check(e.status_code == 400 and e.json()[0]["code"] == 400, "bad start_date → 400", e.text)
try:
    anonymous.get_service_definition("NO_SUCH")
    check(False, "georeport raises on 404")
except requests.HTTPError as err:
    check(err.response.status_code == 404, "georeport raises on 404", err.response.status_code)

if failures:
    print(f"{failures} check(s) failed")
    sys.exit(1)
print("all Open311 checks passed")
