#!/usr/bin/python3
"""Checks two candidate solutions with the Sprint Verifier and prints the results as JSON.

Usage: check_client.py STUBS_DIR ADDRESS

STUBS_DIR holds the modules protoc generated from protos/ (see README: Python client).
Needs Debian's python3-grpcio and python3-protobuf (run with /usr/bin/python3).
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from sprint.v1 import verifier_pb2, verifier_pb2_grpc  # noqa: E402


def main():
    _, _, address = sys.argv
    with grpc.insecure_channel(address) as channel:
        stub = verifier_pb2_grpc.VerifierServiceStub(channel)
        request = verifier_pb2.CheckRequest(
            question="Mia starts with 21 apples. Mia gives 8 apples to Iris. How many apples does Mia have now?",
            candidates=[verifier_pb2.CheckCandidate(index=0, text="21 - 8 = 13\n\\boxed{13}"),
                        verifier_pb2.CheckCandidate(index=3, text="21 - 8 = 14\n14 * 2 = 28\n\\boxed{28}")])
        response = stub.Check(request, timeout=30)
    print(json_format.MessageToJson(response, preserving_proto_field_name=True, indent=None))


if __name__ == "__main__":
    main()
