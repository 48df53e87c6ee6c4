"""Sends GenAI spans, a gen_ai.client.token.usage histogram and evaluation log records through
the official OpenTelemetry Python SDK exporters (gRPC and HTTP) to a running `cockpit serve`,
then checks the counts it reports at /api/v1/stats."""

import json
import logging
import os
import sys
import time
import urllib.request

from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

addrs = json.loads(sys.argv[1])
grpc_endpoint = "http://" + addrs["otlp_grpc"]
http_endpoint = "http://" + addrs["otlp_http"]
api = "http://" + addrs["api"]


def send_run(tracer, agent):
    """One run: invoke_agent → chat, execute_tool (ok), execute_tool (fails)."""
    with tracer.start_as_current_span(
        f"invoke_agent {agent}",
        kind=SpanKind.INTERNAL,
        attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent, "gen_ai.agent.version": "3.2"},
    ):
        with tracer.start_as_current_span(
            "chat claude-sonnet-4",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "anthropic",
                "gen_ai.request.model": "claude-sonnet-4",
                "gen_ai.usage.input_tokens": 900,
                "gen_ai.usage.output_tokens": 120,
            },
        ):
            pass
        with tracer.start_as_current_span(
            "execute_tool search_docs",
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search_docs"},
        ):
            pass
        with tracer.start_as_current_span(
            "execute_tool create_ticket",
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "create_ticket", "error.type": "timeout"},
        ) as failing:
            failing.set_status(Status(StatusCode.ERROR, "tool timed out"))


def send_tokens(meter_provider, agent):
    meter = meter_provider.get_meter("interop")
    usage = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    common = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-sonnet-4", "gen_ai.agent.name": agent}
    usage.record(900, {**common, "gen_ai.token.type": "input"})
    usage.record(120, {**common, "gen_ai.token.type": "output"})


def send_evaluation(logger_provider, agent):
    """An evaluation result as a log record, through the Python logging bridge."""
    log = logging.getLogger(f"interop.{agent}")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))
    log.info(
        "evaluation",
        extra={"event.name": "gen_ai.evaluation.result", "gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.9},
    )


for agent, span_exporter, metric_exporter, log_exporter in [
    (
        "py-grpc-agent",
        GrpcSpanExporter(endpoint=grpc_endpoint, insecure=True),
        GrpcMetricExporter(endpoint=grpc_endpoint, insecure=True),
        GrpcLogExporter(endpoint=grpc_endpoint, insecure=True),
    ),
    (
        "py-http-agent",
        HttpSpanExporter(endpoint=http_endpoint + "/v1/traces"),
        HttpMetricExporter(endpoint=http_endpoint + "/v1/metrics"),
        HttpLogExporter(endpoint=http_endpoint + "/v1/logs"),
    ),
]:
    resource = Resource.create({"service.name": agent, "deployment.environment.name": "interop"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    send_run(tracer_provider.get_tracer("interop"), agent)
    tracer_provider.shutdown()
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    send_tokens(meter_provider, agent)
    meter_provider.shutdown()
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
    send_evaluation(logger_provider, agent)
    logger_provider.shutdown()

expected = {
    "spans_accepted": 8,
    "spans_rejected": 0,
    "runs": 2,
    "llm_calls": 2,
    "tool_calls": 4,
    "metric_points": 4,
    "log_records": 2,
    "evaluations": 2,
}
deadline = time.time() + 15
token = os.environ["COCKPIT_OPERATOR_TOKEN"]
while True:
    req = urllib.request.Request(api + "/api/v1/stats", headers={"Authorization": f"Bearer {token}"})
    stats = json.load(urllib.request.urlopen(req))
    got = {k: stats[k] for k in expected}
    if got == expected and stats["ingest_pending"] == 0:
        break
    if time.time() > deadline:
        sys.exit(f"interop: stats never matched\nexpected {expected}\ngot      {got}\nfull     {stats}")
    time.sleep(0.1)

agents = {a["name"]: a for a in stats["agents"]}
assert agents == {
    "py-grpc-agent": {"name": "py-grpc-agent", "runs": 1, "versions": ["3.2"]},
    "py-http-agent": {"name": "py-http-agent", "runs": 1, "versions": ["3.2"]},
}, stats["agents"]
tools = {t["name"]: (t["calls"], t["errors"]) for t in stats["tools"]}
assert tools == {"search_docs": (2, 0), "create_ticket": (2, 2)}, tools
print("interop otel: OK", json.dumps(got))
