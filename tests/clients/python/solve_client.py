#!/usr/bin/python3
"""Streams one Solve from the Sprint gateway and prints a JSON summary of the stream.

Usage: solve_client.py STUBS_DIR ADDRESS QUESTION N STRATEGY

STUBS_DIR holds the modules protoc generated from protos/ (see README: Python client).
Needs Debian's python3-grpcio and python3-protobuf (run with /usr/bin/python3).
A protected suite: SPRINT_CA_CERT (PEM CA: TLS), SPRINT_CLIENT_CERT and SPRINT_CLIENT_KEY (mutual TLS),
SPRINT_API_KEY (sent as authorization: Bearer).
"""
import json
import os
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from sprint.v1 import common_pb2, gateway_pb2, gateway_pb2_grpc  # noqa: E402


def channel_for(address):
    """Plaintext, or TLS when SPRINT_CA_CERT names a CA (with a client certificate when one is given)."""
    def read(variable):
        path = os.environ.get(variable)
        if not path:
            return None
        with open(path, "rb") as f:
            return f.read()
    ca = read("SPRINT_CA_CERT")
    if ca is None:
        return grpc.insecure_channel(address)
    credentials = grpc.ssl_channel_credentials(root_certificates=ca, private_key=read("SPRINT_CLIENT_KEY"),
                                               certificate_chain=read("SPRINT_CLIENT_CERT"))
    return grpc.secure_channel(address, credentials)


def main():
    _, _, address, question, n, strategy = sys.argv
    summary = {"events": [], "plan": [], "candidates": {}, "deltas": {}, "checks": {}, "stops": {}, "verdict": None}
    key = os.environ.get("SPRINT_API_KEY")
    metadata = [("authorization", "Bearer " + key)] if key else None
    with channel_for(address) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        request = gateway_pb2.SolveRequest(question=question, n=int(n), strategy=gateway_pb2.Strategy.Value("STRATEGY_" + strategy.upper()),
                                            max_new_tokens=96)
        for event in stub.Solve(request, timeout=120, metadata=metadata):
            kind = event.WhichOneof("event")
            summary["events"].append(kind)
            if kind == "plan":
                summary["plan"] = [c.configuration.name for c in event.plan.candidates]
            elif kind == "delta":
                key = str(event.delta.index)
                summary["deltas"][key] = summary["deltas"].get(key, "") + event.delta.text
            elif kind == "restart":  # its replica failed: the candidate starts over, its text so far is void
                summary["deltas"][str(event.restart.index)] = ""
            elif kind == "stop":  # a failed written step: stopped (its result follows, FINISH_REASON_REJECTED), maybe replaced
                s = event.stop
                summary["stops"][str(s.index)] = {"step": s.failure.step,
                                                  "replacement": s.replacement if s.HasField("replacement") else None}
            elif kind == "candidate":
                c = event.candidate
                summary["candidates"][str(c.index)] = {"configuration": c.configuration, "text": c.text,
                                                      "answer": c.answer, "error": c.error,
                                                      "rejected": c.finish_reason == common_pb2.FINISH_REASON_REJECTED}
            elif kind == "check":
                summary["checks"][str(event.check.index)] = {"checked": event.check.checked_steps, "failed": event.check.failed_steps}
            elif kind == "verdict":
                v = event.verdict
                summary["verdict"] = {"answer": v.answer, "chosen": v.chosen_candidate,
                                      "votes": {x.answer: x.votes for x in v.votes},
                                      "aggregation": gateway_pb2.Aggregation.Name(v.aggregation),
                                      "excluded": list(v.excluded_candidates),
                                      "stopped": list(v.stopped_candidates)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
