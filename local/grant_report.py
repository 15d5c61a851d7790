"""`python -m local.grant_report [LOG]`: every call granted, every grant used, over a whole test run.

The test session (and each local stack it starts) appends to LOG every grant it used and every call
it was refused (local/iam.py). This compares that with the grants of the synthesized template:

- a refused call is a function doing something its role does not allow: it would fail in AWS;
- a grant no test used is either not needed (remove it from chat/topology.py) or used only by the
  Lambda service itself, never by our code: those are listed below, each with the reason.

Exits 1 on any refused call or any unused grant without a reason.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from infrastructure.template import synthesized_template
from local.iam import Grant, Policies, read_grant_log

DEFAULT_LOG = Path(__file__).resolve().parent.parent / "test-artifacts" / "grant-log.jsonl"

# Actions the Lambda service performs with a function's role on its behalf; the code never does.
USED_BY_THE_LAMBDA_SERVICE = {
    "logs:CreateLogStream": "Lambda writes the function's log group with its role",
    "logs:PutLogEvents": "Lambda writes the function's log group with its role",
    "dynamodb:ListStreams": "granted by CDK's DynamoEventSource for the event source mapping, which Lambda "
    "runs; the local poller is given the stream ARN as the mapping is",
    "sqs:GetQueueAttributes": "granted by CDK's SqsDlq and SqsEventSource; Lambda checks the on-failure "
    "destination and the source queue with it, the local pollers only send, receive and delete",
    "sqs:GetQueueUrl": "granted by CDK's SqsDlq and SqsEventSource; not needed to use a queue by its ARN or URL",
    "sqs:ChangeMessageVisibility": "granted by CDK's SqsEventSource; Lambda's poller may extend a batch's "
    "visibility while the function runs, the local poller leaves failed messages to their visibility timeout",
}


def report(policies: Policies, used: set[Grant], refused: list[dict[str, str]]) -> tuple[list[str], bool]:
    grants = policies.grants
    unused = [g for g in grants if g not in used]
    explained = [g for g in unused if g.action in USED_BY_THE_LAMBDA_SERVICE]
    unexplained = [g for g in unused if g.action not in USED_BY_THE_LAMBDA_SERVICE]
    lines = [
        f"{len(grants)} grants in the synthesized template; {len(grants) - len(unused)} used by the tests; "
        f"{len(explained)} used only by the Lambda service; {len(unexplained)} unused; {len(refused)} calls refused"
    ]
    by_action: dict[str, list[str]] = defaultdict(list)
    for grant in explained:
        by_action[grant.action].append(grant.function)
    for action, functions in sorted(by_action.items()):
        lines.append(f"  service-only {action} ({len(functions)} functions): {USED_BY_THE_LAMBDA_SERVICE[action]}")
    for grant in unexplained:
        lines.append(f"  UNUSED {grant.function}: {grant.action} on {grant.resource}")
    seen = set()
    for call in refused:
        key = (call["function"], call["action"], call["resource"])
        if key not in seen:
            seen.add(key)
            lines.append(f"  REFUSED {call['function']}: {call['action']} on {call['resource']} ({call['operation']})")
    return lines, not unexplained and not refused


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.grant_report", description=__doc__.splitlines()[0])
    parser.add_argument("log", nargs="?", type=Path, default=DEFAULT_LOG)
    args = parser.parse_args(argv)
    if not args.log.exists():
        print(f"no grant log at {args.log}: run the whole test suite first", file=sys.stderr)
        return 1
    used, refused = read_grant_log(args.log)
    lines, ok = report(Policies.from_template(synthesized_template()), used, refused)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
