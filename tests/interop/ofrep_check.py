"""An agent that uses only the OpenFeature SDK with the OFREP provider reads its kill switch
from the cockpit, sees it flip when an operator trips it, and the bulk ETag path answers 304
when nothing changed."""

import json
import os
import sys
import time
import urllib.request

import requests
from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext

addrs = json.loads(sys.argv[1])
base = "http://" + addrs["api"]
token = os.environ["COCKPIT_OPERATOR_TOKEN"]
agent = "py-grpc-agent"  # sent its telemetry in send_otel.py, so the cockpit knows it


def operator(method, path, body=None):
    req = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as r:
        return json.load(r)


# Wait until the agent's runs have settled and it is known to the control plane.
deadline = time.time() + 15
while agent not in operator("GET", "/api/v1/policy")["effective"]:
    if time.time() > deadline:
        sys.exit(f"ofrep: {agent} never became known")
    time.sleep(0.2)

api.set_provider(OFREPProvider(base))
client = api.get_client()
ctx = EvaluationContext(targeting_key=agent)

details = client.get_boolean_details("agent.enabled", False, ctx)
assert details.value is True, details
assert details.variant == "on", details
assert client.get_string_value("agent.approval", "unknown", ctx) == "none"
assert client.get_object_value("agent.tools", {}, ctx) == {"mode": "all"}

# The bulk endpoint answers 304 to the same ETag when nothing changed.
bulk = requests.post(base + "/ofrep/v1/evaluate/flags", json={"context": {"targetingKey": agent}}, timeout=5)
assert bulk.status_code == 200, bulk.text
etag = bulk.headers["ETag"]
again = requests.post(
    base + "/ofrep/v1/evaluate/flags",
    json={"context": {"targetingKey": agent}},
    headers={"If-None-Match": etag},
    timeout=5,
)
assert again.status_code == 304, again.status_code

# An operator trips the kill switch; the agent sees it on its next evaluation.
tripped_at = time.time()
result = operator("POST", "/api/v1/actions", {"lever": "enabled", "agent": agent, "value": False, "reason": "interop drill"})
assert result["revision"] >= 1, result
while client.get_boolean_value("agent.enabled", True, ctx) is not False:
    if time.time() - tripped_at > 2:
        sys.exit("ofrep: the kill switch did not reach the agent within 2 s")
    time.sleep(0.05)
after = requests.post(
    base + "/ofrep/v1/evaluate/flags",
    json={"context": {"targetingKey": agent}},
    headers={"If-None-Match": etag},
    timeout=5,
)
assert after.status_code == 200 and after.headers["ETag"] != etag, after.status_code
flags = {f["key"]: f["value"] for f in after.json()["flags"]}
assert flags["agent.enabled"] is False, flags

# Unknown flags and a missing targeting key are OFREP errors, which the SDK reports as such.
missing = client.get_boolean_details("agent.nonexistent", True, ctx)
assert missing.error_code is not None and missing.error_code.value == "FLAG_NOT_FOUND", missing
no_key = client.get_boolean_details("agent.enabled", True, EvaluationContext())
assert no_key.error_code is not None and no_key.error_code.value == "TARGETING_KEY_MISSING", no_key
print(f"interop ofrep: OK (kill switch seen {time.time() - tripped_at:.2f}s after the action)")
