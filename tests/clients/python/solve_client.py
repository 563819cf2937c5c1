#!/usr/bin/python3
"""Streams one Solve from the Sprint gateway and prints a JSON summary of the stream.

Usage: solve_client.py STUBS_DIR ADDRESS QUESTION N STRATEGY

STUBS_DIR holds the modules protoc generated from protos/ (see README: Python client).
Needs Debian's python3-grpcio and python3-protobuf (run with /usr/bin/python3).
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from sprint.v1 import gateway_pb2, gateway_pb2_grpc  # noqa: E402


def main():
    _, _, address, question, n, strategy = sys.argv
    summary = {"events": [], "plan": [], "candidates": {}, "deltas": {}, "verdict": None}
    with grpc.insecure_channel(address) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        request = gateway_pb2.SolveRequest(question=question, n=int(n), strategy=gateway_pb2.Strategy.Value("STRATEGY_" + strategy.upper()),
                                            max_new_tokens=96)
        for event in stub.Solve(request, timeout=120):
            kind = event.WhichOneof("event")
            summary["events"].append(kind)
            if kind == "plan":
                summary["plan"] = [c.configuration.name for c in event.plan.candidates]
            elif kind == "delta":
                key = str(event.delta.index)
                summary["deltas"][key] = summary["deltas"].get(key, "") + event.delta.text
            elif kind == "restart":  # its replica failed: the candidate starts over, its text so far is void
                summary["deltas"][str(event.restart.index)] = ""
            elif kind == "candidate":
                c = event.candidate
                summary["candidates"][str(c.index)] = {"configuration": c.configuration, "text": c.text,
                                                      "answer": c.answer, "error": c.error}
            elif kind == "verdict":
                v = event.verdict
                summary["verdict"] = {"answer": v.answer, "chosen": v.chosen_candidate,
                                      "votes": {x.answer: x.votes for x in v.votes}}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
