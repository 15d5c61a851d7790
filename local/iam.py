"""IAM as AWS applies it: every AWS call a function makes is checked against its role's policy.

moto checks no IAM at all, so a function that lacks a grant passes every local test and then fails
with AccessDeniedException once deployed. Here the policies come from the synthesized CloudFormation
template (the very statements `cdk deploy` ships, never a list kept by hand): `Policies` reads each
function's role out of it, and `enforce` hooks botocore so that a call made while a function runs
(`acting_as`) is allowed only if its role allows every action and resource the call needs, as IAM
would evaluate it. A refused call raises the ClientError AWS returns.

The hook also records which grant allowed each call (`GrantLog`), so a test run can prove that every
call is granted and every grant is used.

Resources are resolved to the names the local stack and moto use: the template's table `Ref`s become
the local table names, its pseudo parameters the local region and account.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chat import topology
from chat.concurrency import THREAD_NAME_PREFIX
from chat.config import bucket_name, table_name
from local import aws_calls

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PARTITION = "aws"
# The id the local gateway's API has in ARNs (its @connections endpoint stands in for the stage's).
LOCAL_API_ID = "local"
# Where a test run's grant log goes (one JSON line per grant first used, or call refused, per process).
ENV_GRANT_LOG = "CHAT_GRANT_LOG"


# ---- the policies in the template -----------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Grant:
    """One action on one resource (ARN pattern) that one function's role allows."""

    function: str
    action: str
    resource: str

    def allows(self, action: str, resource: str) -> bool:
        return _glob(self.action, ignore_case=True).fullmatch(action) is not None and (
            _glob(self.resource).fullmatch(resource) is not None
        )


@dataclass(frozen=True)
class _Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


@dataclass
class Policies:
    """Every function's statements, resolved to local ARNs."""

    statements: dict[str, list[_Statement]]
    # Parameters of the names the template resolves to.
    stage: str

    @property
    def grants(self) -> list[Grant]:
        """Each allowed (action, resource) pair of each function: what a test run must use."""
        return sorted(
            {
                Grant(function, action, resource)
                for function, statements in self.statements.items()
                for statement in statements
                if statement.effect == "Allow"
                for action in statement.actions
                for resource in statement.resources
            }
        )

    def decide(self, function: str, action: str, resource: str) -> Grant | None:
        """The grant that allows this request, or None (no allow, or an explicit deny)."""
        allowed: Grant | None = None
        for statement in self.statements.get(function, ()):
            for pattern in statement.actions:
                if not _glob(pattern, ignore_case=True).fullmatch(action):
                    continue
                for resource_pattern in statement.resources:
                    if not _glob(with_table_names(resource_pattern)).fullmatch(resource):
                        continue
                    if statement.effect == "Deny":
                        return None
                    allowed = allowed or Grant(function, pattern, resource_pattern)
        return allowed

    @classmethod
    def from_template(cls, template: dict[str, Any]) -> Policies:
        resources: dict[str, dict[str, Any]] = template["Resources"]
        resolver = _Resolver(resources)
        handlers = {spec.handler: spec.name for spec in topology.FUNCTIONS.values()}
        role_of: dict[str, str] = {}  # role logical id -> function name
        for resource in resources.values():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            properties = resource["Properties"]
            function = handlers.get(properties.get("Handler", ""))
            role = properties.get("Role", {}).get("Fn::GetAtt", [None])[0]
            if function and role:
                role_of[role] = function
        missing = set(handlers.values()) - set(role_of.values())
        if missing:
            raise ValueError(f"the template has no function for {sorted(missing)}")

        statements: dict[str, list[_Statement]] = {name: [] for name in role_of.values()}

        def add(role_refs: list[Any], document: dict[str, Any]) -> None:
            for ref in role_refs:
                function = role_of.get(ref.get("Ref", "")) if isinstance(ref, dict) else None
                if function is None:
                    continue
                statements[function].extend(resolver.statement(s) for s in document["Statement"])

        for logical_id, resource in resources.items():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::IAM::Policy":
                add(properties.get("Roles", []), properties["PolicyDocument"])
            elif resource["Type"] == "AWS::IAM::Role" and logical_id in role_of:
                if properties.get("ManagedPolicyArns"):
                    raise ValueError(f"{logical_id}: managed policies are not evaluated locally; use statements")
                for inline in properties.get("Policies", []):
                    add([{"Ref": logical_id}], inline["PolicyDocument"])
        stages = [r["Properties"]["StageName"] for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
        return cls(statements=statements, stage=stages[0] if stages else "prod")


class _Resolver:
    """CloudFormation intrinsics -> local names. What cannot be resolved matches no request."""

    def __init__(self, resources: dict[str, dict[str, Any]]) -> None:
        self.resources = resources
        self.table_of: dict[str, topology.Table] = {}
        self.bucket_of: dict[str, topology.Bucket] = {}
        env_tables = {table.env: table for table in topology.TABLES.values()}
        env_buckets = {bucket.env: bucket for bucket in topology.BUCKETS.values()}
        for resource in resources.values():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            for name, value in variables.items():
                if name in env_tables and isinstance(value, dict) and "Ref" in value:
                    self.table_of[value["Ref"]] = env_tables[name]
                if name in env_buckets and isinstance(value, dict) and "Ref" in value:
                    self.bucket_of[value["Ref"]] = env_buckets[name]

    def statement(self, raw: dict[str, Any]) -> _Statement:
        unsupported = {"NotAction", "NotResource", "Condition", "Principal", "NotPrincipal"} & raw.keys()
        if unsupported:
            raise ValueError(f"statement elements {sorted(unsupported)} are not evaluated locally: {raw}")
        return _Statement(
            effect=raw["Effect"],
            actions=tuple(_as_list(raw["Action"])),
            resources=tuple(self.value(r) for r in _as_list(raw["Resource"])),
        )

    def value(self, node: Any) -> str:
        if isinstance(node, str):
            return node
        if not isinstance(node, dict) or len(node) != 1:
            return _unresolved(node)
        (function, argument), *_ = node.items()
        if function == "Ref":
            return self.ref(argument)
        if function == "Fn::GetAtt":
            return self.get_att(argument[0], argument[1])
        if function == "Fn::Join":
            return str(argument[0]).join(self.value(part) for part in argument[1])
        return _unresolved(node)

    def ref(self, name: str) -> str:
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT_ID, "AWS::Partition": PARTITION}
        if name in pseudo:
            return pseudo[name]
        kind = self.resources.get(name, {}).get("Type")
        if kind == "AWS::DynamoDB::Table" and name in self.table_of:
            return table_placeholder(self.table_of[name])
        if kind == "AWS::ApiGatewayV2::Api":
            return LOCAL_API_ID
        return _unresolved({"Ref": name})

    def get_att(self, name: str, attribute: str) -> str:
        kind = self.resources.get(name, {}).get("Type")
        if kind == "AWS::DynamoDB::Table" and name in self.table_of:
            arn = table_arn(table_placeholder(self.table_of[name]))
            if attribute == "Arn":
                return arn
            if attribute == "StreamArn":
                return f"{arn}/stream/*"  # one stream per table here; its label is a timestamp
        if kind == "AWS::S3::Bucket" and name in self.bucket_of and attribute == "Arn":
            return bucket_arn(bucket_placeholder(self.bucket_of[name]))
        if kind == "AWS::SQS::Queue" and attribute == "Arn":
            return f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT_ID}:{local_queue_name(name, self.resources[name])}"
        return _unresolved({"Fn::GetAtt": [name, attribute]})


def local_queue_name(logical_id: str, resource: dict[str, Any]) -> str:
    """A queue CDK leaves unnamed is named after its logical id locally (a FIFO queue's name ends in .fifo)."""
    properties = resource.get("Properties", {})
    suffix = ".fifo" if properties.get("FifoQueue") else ""
    return str(properties.get("QueueName") or f"chat-{logical_id}{suffix}")


def _event_source_mappings(template: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    """Every event source mapping of the template: (its topology function, if known; its properties)."""
    resources: dict[str, dict[str, Any]] = template["Resources"]
    handlers = {spec.handler: spec.name for spec in topology.FUNCTIONS.values()}
    function_of = {
        logical_id: handlers[r["Properties"]["Handler"]]
        for logical_id, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler") in handlers
    }
    return [
        (function_of.get(r["Properties"].get("FunctionName", {}).get("Ref", "")), r["Properties"])
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    ]


def _get_att_target(value: Any) -> Any:
    """The logical id a `Fn::GetAtt` names, or None."""
    return value.get("Fn::GetAtt", [None])[0] if isinstance(value, dict) else None


def local_queues(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Topology queue -> (its local name, its CloudFormation properties), found through the event source
    mapping that feeds the queue's function."""
    resources: dict[str, dict[str, Any]] = template["Resources"]
    found = {}
    for function, properties in _event_source_mappings(template):
        queue_id = _get_att_target(properties.get("EventSourceArn", {}))
        if queue_id not in resources or resources[queue_id]["Type"] != "AWS::SQS::Queue":
            continue
        for queue in topology.QUEUES:
            if queue.function == function:
                found[queue.logical_name] = (
                    local_queue_name(queue_id, resources[queue_id]),
                    resources[queue_id].get("Properties", {}),
                )
    return found


def on_failure_queues(template: dict[str, Any]) -> dict[str, str]:
    """Stream function -> the local name of its event source mapping's on-failure queue."""
    resources: dict[str, dict[str, Any]] = template["Resources"]
    queues = {}
    for function, properties in _event_source_mappings(template):
        destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination", {})
        queue_id = _get_att_target(destination)
        if function and queue_id in resources:
            queues[function] = local_queue_name(queue_id, resources[queue_id])
    return queues


def table_placeholder(table: topology.Table) -> str:
    """Grants name a table by its topology name; the name it has here is read when a call is checked
    (tests give tables names of their own through the same variables the functions read)."""
    return f"<{table.logical_name}>"


def bucket_placeholder(bucket: topology.Bucket) -> str:
    """Like `table_placeholder`: the bucket's local name is read when a call is checked."""
    return f"<bucket:{bucket.logical_name}>"


_PLACEHOLDER = re.compile(r"<([A-Za-z]+)>")
_BUCKET_PLACEHOLDER = re.compile(r"<bucket:([A-Za-z]+)>")


def with_table_names(pattern: str) -> str:
    """The pattern with its table and bucket placeholders replaced by their local names."""
    pattern = _BUCKET_PLACEHOLDER.sub(
        lambda m: bucket_name(topology.BUCKETS[m.group(1)]) if m.group(1) in topology.BUCKETS else m.group(0), pattern
    )
    return _PLACEHOLDER.sub(
        lambda m: table_name(topology.TABLES[m.group(1)]) if m.group(1) in topology.TABLES else m.group(0), pattern
    )


def table_arn(name: str) -> str:
    return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"


def bucket_arn(name: str) -> str:
    return f"arn:{PARTITION}:s3:::{name}"


def object_arn(bucket: str, key: str) -> str:
    return f"{bucket_arn(bucket)}/{key}"


def _unresolved(node: Any) -> str:
    return f"<unresolved {json.dumps(node, sort_keys=True)}>"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


_GLOBS: dict[tuple[str, bool], re.Pattern[str]] = {}


def _glob(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM's wildcards: `*` any run of characters (`/` and `:` included), `?` any one character."""
    key = (pattern, ignore_case)
    compiled = _GLOBS.get(key)
    if compiled is None:
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        compiled = _GLOBS[key] = re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)
    return compiled


# ---- what a call needs --------------------------------------------------------------------------------

# S3 object operations -> the IAM action that authorizes them (HeadObject is a GetObject; a presigned
# POST upload, checked when it is signed, a PutObject; CopyObject also needs GetObject on its source).
_S3_OBJECT_ACTIONS = {
    "GetObject": "GetObject",
    "HeadObject": "GetObject",
    "PutObject": "PutObject",
    "CopyObject": "PutObject",
    "DeleteObject": "DeleteObject",
}
# TransactWriteItems is authorized item by item, as the underlying single-item action.
_TRANSACT_WRITE_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_TABLE_OPERATIONS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "DescribeTable",
    "DescribeTimeToLive",
}


@dataclass(frozen=True)
class Request:
    """One (action, resource) pair IAM authorizes for a call."""

    action: str
    resource: str


def requests_of(service: str, operation: str, params: dict[str, Any], stage: str) -> list[Request]:
    """The actions and resources IAM checks for one API call (raises for calls it cannot place)."""
    if service == "dynamodb":
        if operation in _TABLE_OPERATIONS:
            arn = table_arn(params["TableName"])
            if operation in ("Query", "Scan") and params.get("IndexName"):
                arn = f"{arn}/index/{params['IndexName']}"
            return [Request(f"dynamodb:{operation}", arn)]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [Request(f"dynamodb:{operation}", table_arn(name)) for name in params["RequestItems"]]
        if operation == "TransactWriteItems":
            found = []
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                found.append(Request(f"dynamodb:{_TRANSACT_WRITE_ACTIONS[kind]}", table_arn(body["TableName"])))
            return found
        if operation == "TransactGetItems":
            return [
                Request("dynamodb:GetItem", table_arn(item["Get"]["TableName"])) for item in params["TransactItems"]
            ]
    if service == "dynamodbstreams":
        if operation == "ListStreams":
            return [Request("dynamodb:ListStreams", "*")]
        if operation in ("DescribeStream", "GetShardIterator"):
            return [Request(f"dynamodb:{operation}", params["StreamArn"])]
        if operation == "GetRecords":
            # The stream an iterator belongs to is inside the (opaque) iterator; moto puts its ARN first.
            return [Request("dynamodb:GetRecords", _stream_of_iterator(params["ShardIterator"]))]
    if service == "apigatewaymanagementapi":
        method = {"PostToConnection": "POST", "GetConnection": "GET", "DeleteConnection": "DELETE"}[operation]
        arn = f"arn:{PARTITION}:execute-api:{REGION}:{ACCOUNT_ID}:{LOCAL_API_ID}/{stage}/{method}/@connections/"
        return [Request("execute-api:ManageConnections", arn + params["ConnectionId"])]
    if service == "s3" and operation in _S3_OBJECT_ACTIONS:
        found = [Request(f"s3:{_S3_OBJECT_ACTIONS[operation]}", object_arn(params["Bucket"], params["Key"]))]
        if operation == "CopyObject":
            # Authorized as a read of its source and a write of its destination.
            source = params["CopySource"]
            if isinstance(source, str):
                source_bucket, _, source_key = source.lstrip("/").partition("/")
            else:
                source_bucket, source_key = source["Bucket"], source["Key"]
            found.insert(0, Request("s3:GetObject", object_arn(source_bucket, source_key)))
        return found
    if service == "sqs":
        queue = params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
        # A batch call is authorized as its single-message action (there is no sqs:DeleteMessageBatch).
        action = operation.removesuffix("Batch")
        return [Request(f"sqs:{action}", f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT_ID}:{queue}")]
    if service == "sns":
        # Mobile push: an application, or an endpoint (Publish to a topic is not used).
        target = {
            "CreatePlatformEndpoint": params.get("PlatformApplicationArn"),
            "Publish": params.get("TargetArn"),
            "GetEndpointAttributes": params.get("EndpointArn"),
            "DeleteEndpoint": params.get("EndpointArn"),
        }.get(operation)
        if target:
            return [Request(f"sns:{operation}", str(target))]
    raise UnplacedCall(f"{service}.{operation} is not mapped to IAM actions; add it to local/iam.py")


def _stream_of_iterator(iterator: str) -> str:
    return iterator.split("|", 1)[0]


class UnplacedCall(RuntimeError):
    """A call the local IAM check does not know how to authorize: a gap here, not in the code."""


class UnattributedCall(RuntimeError):
    """An AWS call made inside a handler (or its thread pool) with no function to act as."""


class InvocationTimedOut(BaseException):  # not an Exception: handlers must not catch it
    """Lambda stopped this invocation at its timeout; nothing it does afterwards reaches AWS."""


# ---- who is calling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    function: str
    deadline: float | None = None  # time.monotonic() past which the invocation is dead


_invocation: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar("chat_invocation", default=None)


@contextlib.contextmanager
def acting_as(function: str, timeout_s: float | None = None) -> Iterator[Invocation]:
    """AWS calls made inside (and in ContextPool tasks started inside) are signed by `function`'s role."""
    if function not in topology.FUNCTIONS:
        raise KeyError(f"no function {function!r} in the topology")
    invocation = Invocation(function, None if timeout_s is None else time.monotonic() + timeout_s)
    token = _invocation.set(invocation)
    try:
        yield invocation
    finally:
        _invocation.reset(token)


def current_invocation() -> Invocation | None:
    return _invocation.get()


# ---- the log of grants used and calls refused ------------------------------------------------------


@dataclass
class GrantLog:
    """Grants used and calls refused; appended to a JSON-lines file when one is given."""

    path: Path | None = None
    used: set[Grant] = field(default_factory=set)
    refused: list[dict[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_env(cls) -> GrantLog:
        value = os.environ.get(ENV_GRANT_LOG)
        return cls(Path(value) if value else None)

    def used_grant(self, grant: Grant) -> None:
        with self._lock:
            if grant in self.used:
                return
            self.used.add(grant)
        self._append({"used": [grant.function, grant.action, grant.resource]})

    def refused_call(self, function: str, action: str, resource: str, operation: str) -> None:
        entry = {"function": function, "action": action, "resource": resource, "operation": operation}
        with self._lock:
            self.refused.append(entry)
        self._append({"refused": entry})

    def _append(self, entry: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One short line per write with O_APPEND: lines from several processes never interleave.
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")


def read_grant_log(path: Path) -> tuple[set[Grant], list[dict[str, str]]]:
    used: set[Grant] = set()
    refused: list[dict[str, str]] = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if "used" in entry:
                used.add(Grant(*entry["used"]))
            else:
                refused.append(entry["refused"])
    return used, refused


# ---- the hook -----------------------------------------------------------------------------------------


@dataclass
class Enforcer:
    policies: Policies
    log: GrantLog

    def check(self, service: str, operation: str, params: dict[str, Any]) -> None:
        invocation = _invocation.get()
        if invocation is None:
            _refuse_if_inside_a_handler(service, operation)
            return  # the local stack's own set-up, or a test arranging data: not a function's call
        if invocation.deadline is not None and time.monotonic() > invocation.deadline:
            raise InvocationTimedOut(f"{invocation.function} ran past its timeout; {operation} never left")
        for request in requests_of(service, operation, params, self.policies.stage):
            grant = self.policies.decide(invocation.function, request.action, request.resource)
            if grant is None:
                self.log.refused_call(invocation.function, request.action, request.resource, operation)
                raise access_denied(service, operation, invocation.function, request)
            self.log.used_grant(grant)


def access_denied(service: str, operation: str, function: str, request: Request) -> ClientError:
    """The error AWS answers: AccessDeniedException (DynamoDB, 400), ForbiddenException (@connections, 403),
    AccessDenied (SQS, S3: 403)."""
    principal = f"arn:{PARTITION}:sts::{ACCOUNT_ID}:assumed-role/chat-{function}-role/chat-{function}"
    message = (
        f"User: {principal} is not authorized to perform: {request.action} on resource: {request.resource} "
        f"because no identity-based policy allows the {request.action} action"
    )
    code, status = {
        "apigatewaymanagementapi": ("ForbiddenException", 403),
        "sqs": ("AccessDenied", 403),
        "sns": ("AuthorizationError", 403),
        "s3": ("AccessDenied", 403),
    }.get(service, ("AccessDeniedException", 400))
    response: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)


_handler_code: set[Any] | None = None


def _handler_code_objects() -> set[Any]:
    """The code of every topology handler and of the decorators wrapping it."""
    global _handler_code
    if _handler_code is None:
        import importlib

        found = set()
        for spec in topology.FUNCTIONS.values():
            module, _, attribute = spec.handler.rpartition(".")
            try:
                handler = getattr(importlib.import_module(module), attribute)
            except Exception:
                continue
            while handler is not None:
                code = getattr(handler, "__code__", None)
                if code is not None:
                    found.add(code)
                handler = getattr(handler, "__wrapped__", None)
        _handler_code = found
    return _handler_code


def _refuse_if_inside_a_handler(service: str, operation: str) -> None:
    """A handler run without `acting_as` would escape the check: that is a bug in the caller."""
    if threading.current_thread().name.startswith(THREAD_NAME_PREFIX):
        raise UnattributedCall(f"{service}.{operation} from a pool thread that lost its invocation context")
    codes = _handler_code_objects()
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code in codes:
            raise UnattributedCall(
                f"{service}.{operation} from inside a handler not invoked as a function: wrap it in acting_as()"
            )
        frame = frame.f_back  # type: ignore[assignment]


_enforcer: Enforcer | None = None


def _check(service: str, operation: str, params: dict[str, Any], call: aws_calls.Call) -> Any:
    active = _enforcer
    if active is not None:
        active.check(service, operation, params)
    return call(operation, params)


def _check_presign(operation: str, params: dict[str, Any]) -> None:
    """S3 checks a presigned request against its signer's permissions when the URL is used, and refuses it
    (403) if the role lacks them; here the same check is made when the URL is signed, so a function that
    hands out URLs its role cannot honour fails the test that signs them."""
    active = _enforcer
    if active is not None:
        active.check("s3", operation, params)


def enforce(policies: Policies, log: GrantLog | None = None) -> Enforcer:
    """Checks every botocore call made in this process from now on (PynamoDB's and boto3's alike),
    and every S3 URL presigned."""
    global _enforcer
    enforcer = _enforcer = Enforcer(policies, log or GrantLog.from_env())
    aws_calls.install("iam", _check, position=0)
    aws_calls.install_presign_check(_check_presign)
    return enforcer


def stop_enforcing() -> None:
    global _enforcer
    _enforcer = None
    aws_calls.remove("iam")
    aws_calls.remove_presign_check()


def active_enforcer() -> Enforcer | None:
    return _enforcer
