"""DynamoDB stream pollers: what Lambda's event source mappings do, against moto.

One thread per topology stream. Each reads its table's stream shard by shard, in order (`StreamReader`,
which the integration tests use to drain a stream on the spot), and invokes the stream function with
batches of at most `batch_size` records. A function error retries the whole batch;
`{"batchItemFailures": [{"itemIdentifier": seq}]}` retries from the first failed record. After
`max_retries` retries the batch is skipped and its place in the stream (shard and sequence range,
not the records) goes to the mapping's on-failure SQS queue, as Lambda does.

Polling is cheap: the moto middleware signals every write per table, so a poller wakes at most
every `poll_interval_s` (50 ms) - at once on a write to its table - and reads the stream only when
its table was written, or every `idle_poll_s` (5 s) in case. New records reach the function within
milliseconds, and an idle stack costs almost no CPU. New shards are looked for every 30 s.

With the fault `stream.duplicate` (chat/faults.py), a batch is now and then delivered a second time
once it was handled, as Lambda may (event source mappings deliver at least once).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3

from chat import faults
from chat.config import table_name
from chat.topology import STREAMS, TABLES, Stream
from local.events import stream_record
from local.iam import ACCOUNT_ID, REGION, acting_as
from local.lambdas import FunctionError, Functions
from local.moto_server import WriteSignal

log = logging.getLogger("local.streams")


class StreamReader:
    """Reads one topology stream as Lambda's event source mapping does, with the function's role:
    shard by shard, a child shard only once its parent is drained, each shard in order, without the
    records of events the stream's filter leaves out.

    The poller reads through it; tests call `event()` to take, there and then, what the stream holds.
    """

    def __init__(self, stream: Stream, endpoint: str | None = None, region: str = REGION) -> None:
        self.stream = stream
        self.region = region
        self.table = table_name(TABLES[stream.table])
        self._dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)
        self._streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=region)
        self.stream_arn = ""
        # shard id -> current iterator (None once the shard is closed and drained)
        self._iterators: dict[str, str | None] = {}
        self._parents: dict[str, str | None] = {}
        self._last_seq: dict[str, str] = {}
        # Held while an iterator is being used or replaced, so a prune never drops a live one.
        self.lock = threading.Lock()

    @classmethod
    def of_table(
        cls, logical_name: str, endpoint: str | None = None, region: str = REGION, function: str | None = None
    ) -> StreamReader:
        """The reader of a table's stream, for the function the topology maps it to (`function`: the one
        of that name, when the table's stream feeds several; else the first)."""
        streams = [s for s in STREAMS if s.table == logical_name and function in (None, s.function)]
        if not streams:
            raise KeyError(f"no stream of {logical_name} for {function or 'any function'}")
        return cls(streams[0], endpoint, region).open()

    def open(self) -> StreamReader:
        """Finds the stream (the mapping is given its ARN) and its shards, read from the beginning."""
        self.stream_arn = self._dynamodb.describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        self.refresh_shards()
        return self

    def live_iterators(self) -> set[str]:
        return {it for it in self._iterators.values() if it}

    def _reading(self) -> Any:
        """Lambda reads the stream with the function's execution role."""
        return acting_as(self.stream.function)

    def refresh_shards(self) -> None:
        with self._reading():
            shards = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
            for shard in shards:
                shard_id = shard["ShardId"]
                if shard_id in self._iterators:
                    continue
                # Tables are created empty by the local stack and the tests: the horizon is the beginning.
                iterator = self._streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                with self.lock:
                    self._iterators[shard_id] = iterator
                self._parents[shard_id] = shard.get("ParentShardId")

    def batches(self, limit: int | None = None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Reads each open shard once: (shard id, its next records as GetRecords returns them), for the
        shards that had any. A batch counts as handed over once the next one is asked for (or the
        reading ends): `reset_iterators` goes back to just after the last batch handed over."""
        for shard_id in list(self._iterators):
            iterator = self._iterators[shard_id]
            parent = self._parents.get(shard_id)
            if iterator is None or (parent and self._iterators.get(parent)):
                continue  # closed, or its parent still has records to hand out first
            with self.lock, self._reading():
                response = self._streams.get_records(
                    ShardIterator=iterator, **({"Limit": limit} if limit is not None else {})
                )
                self._iterators[shard_id] = response.get("NextShardIterator")
            records: list[dict[str, Any]] = response.get("Records", [])  # type: ignore[assignment]
            # The mapping's filter: a record of another event is dropped, never handed to the function.
            wanted = [r for r in records if not self.stream.events or r["eventName"] in self.stream.events]
            if wanted:
                yield shard_id, wanted
            if records:
                self._last_seq[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]

    def reset_iterators(self) -> None:
        """After an error: new iterators just after the last delivered record of each open shard."""
        for shard_id, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            last = self._last_seq.get(shard_id)
            try:
                with self._reading():
                    fresh = self._fresh_iterator(shard_id, last)
            except Exception:
                log.exception("could not renew the iterator of shard %s", shard_id)
                continue
            with self.lock:
                self._iterators[shard_id] = fresh["ShardIterator"]

    def _fresh_iterator(self, shard_id: str, last: str | None) -> Any:
        if last:
            return self._streams.get_shard_iterator(
                StreamArn=self.stream_arn,
                ShardId=shard_id,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=last,
            )
        return self._streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        )

    def lambda_records(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """GetRecords records as the function receives them in its event."""
        return [stream_record(r, self.stream_arn, self.region) for r in records]

    def records(self) -> list[dict[str, Any]]:
        """Every record the stream holds that was not read yet, as Lambda records (new shards included)."""
        self.refresh_shards()
        return [record for _, batch in self.batches() for record in self.lambda_records(batch)]

    def event(self) -> dict[str, Any]:
        """What the stream holds now, as one event for its function (tests: drain the stream now)."""
        return {"Records": self.records()}


class StreamPoller:
    def __init__(
        self,
        stream: Stream,
        functions: Functions,
        endpoint: str,
        region: str,
        writes: WriteSignal,
        stop: threading.Event,
        *,
        poll_interval_s: float = 0.05,
        idle_poll_s: float = 5.0,
        retry_backoff_s: float = 0.05,
        on_failure_queue_url: str | None = None,
    ) -> None:
        self.stream = stream
        self.functions = functions
        self.region = region
        self.writes = writes
        self.stop = stop
        self.poll_interval_s = poll_interval_s
        self.idle_poll_s = idle_poll_s
        self.retry_backoff_s = retry_backoff_s
        self.reader = StreamReader(stream, endpoint, region)
        self._sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=region)
        # The stream mapping's on-failure destination (an SQS queue URL), as in the template.
        self.on_failure_queue_url = on_failure_queue_url
        self._thread = threading.Thread(target=self._run, name=f"stream-{stream.table}", daemon=True)

    @property
    def stream_arn(self) -> str:
        return self.reader.stream_arn

    def start(self) -> None:
        self.reader.open()
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        last_refresh = time.monotonic()
        while not self.stop.is_set():
            generation = self.writes.generation(self.reader.table)
            try:
                if time.monotonic() - last_refresh > 30:
                    self.reader.refresh_shards()
                    last_refresh = time.monotonic()
                found = self._poll_once()
            except Exception:
                log.exception("polling the %s stream failed; retrying in 1 s", self.stream.table)
                self.stop.wait(1)
                self.reader.reset_iterators()
                continue
            if found:
                continue
            polled_at = time.monotonic()
            while not self.stop.is_set():
                if self.writes.wait_past(self.reader.table, generation, self.poll_interval_s) != generation:
                    break
                if time.monotonic() - polled_at >= self.idle_poll_s:
                    break

    def _poll_once(self) -> bool:
        """Reads each open shard once; True when a shard may have more records waiting."""
        found = False
        for shard_id, records in self.reader.batches(self.stream.batch_size):
            # A full batch may have more behind it: poll again at once. Otherwise wait for a write.
            found = found or len(records) >= self.stream.batch_size
            self._deliver(shard_id, records)
            if faults.fires("stream.duplicate"):  # delivery is at least once: the batch comes again
                log.info("%s: %d records again (fault stream.duplicate)", self.stream.function, len(records))
                self._deliver(shard_id, records)
        return found

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        name = self.stream.function
        pending = records
        retries = 0
        while pending:
            event = {"Records": self.reader.lambda_records(pending)}
            try:
                result = self.functions.invoke(name, event)
            except FunctionError:
                failed_from = 0
            else:
                first_failure = self._first_failure(pending, result)
                if first_failure is None:
                    return
                failed_from = first_failure
            if retries >= self.stream.max_retries or self.stop.is_set():
                self._give_up(shard_id, pending[failed_from:], retries + 1)
                return
            retries += 1
            pending = pending[failed_from:]
            self.stop.wait(min(1.0, self.retry_backoff_s * 2 ** (retries - 1)))

    def _give_up(self, shard_id: str, records: list[dict[str, Any]], attempts: int) -> None:
        """What Lambda sends the on-failure destination: where the batch was, not the records."""
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        log.error(
            "%s: giving up on %d record(s) of the %s stream after %d attempts: %s",
            self.stream.function,
            len(records),
            self.stream.table,
            attempts,
            [r["dynamodb"]["SequenceNumber"] for r in records],
        )
        if self.on_failure_queue_url is None:
            return
        batch_info = {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
            "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
            "batchSize": len(records),
            "streamArn": self.stream_arn,
        }
        invocation_record = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:chat-{self.stream.function}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": batch_info,
        }
        try:
            with acting_as(self.stream.function):  # Lambda sends it with the function's execution role
                self._sqs.send_message(QueueUrl=self.on_failure_queue_url, MessageBody=json.dumps(invocation_record))
        except Exception:
            log.exception("could not send the failed batch to the on-failure destination")

    @staticmethod
    def _first_failure(batch: list[dict[str, Any]], result: Any) -> int | None:
        """Index of the first record to retry, or None when the batch succeeded."""
        if not isinstance(result, dict):
            return None
        failures = result.get("batchItemFailures")
        if not failures:
            return None
        positions = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
        indexes = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if identifier not in positions:
                return 0  # Lambda treats a missing or unknown identifier as a failure of the whole batch
            indexes.append(positions[identifier])
        return min(indexes)


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return None
