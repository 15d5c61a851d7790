"""DynamoDB stream pollers: what Lambda's event source mappings do, against moto.

One thread per topology stream. Each reads its table's stream shard by shard, in order, and invokes
the stream function with batches of at most `batch_size` records. A function error retries the
whole batch; `{"batchItemFailures": [{"itemIdentifier": seq}]}` retries from the first failed
record. After `max_retries` retries the batch is skipped and its place in the stream (shard and
sequence range, not the records) goes to the mapping's on-failure SQS queue, as Lambda does.

Polling is cheap: the moto middleware signals every write per table, so a poller wakes at most
every `poll_interval_s` (50 ms) - at once on a write to its table - and reads the stream only when
its table was written, or every `idle_poll_s` (5 s) in case. New records reach the function within
milliseconds, and an idle stack costs almost no CPU. New shards are looked for every 30 s.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3

from chat.config import table_name
from chat.topology import TABLES, Stream
from local.events import stream_record
from local.iam import ACCOUNT_ID, acting_as
from local.lambdas import FunctionError, Functions
from local.moto_server import WriteSignal

log = logging.getLogger("local.streams")


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
        self.table = table_name(TABLES[stream.table])
        self._dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)
        self._streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=region)
        self._sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=region)
        # The stream mapping's on-failure destination (an SQS queue URL), as in the template.
        self.on_failure_queue_url = on_failure_queue_url
        self.stream_arn = ""
        # shard id -> current iterator (None once the shard is closed and drained)
        self._iterators: dict[str, str | None] = {}
        self._parents: dict[str, str | None] = {}
        self._last_seq: dict[str, str] = {}
        # Held while an iterator is being used or replaced, so a prune never drops a live one.
        self.iterator_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"stream-{stream.table}", daemon=True)
        self.batches = 0

    def start(self) -> None:
        self.stream_arn = self._dynamodb.describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        self._refresh_shards()
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def live_iterators(self) -> set[str]:
        return {it for it in self._iterators.values() if it}

    def _reading(self) -> Any:
        """Lambda reads the stream with the function's execution role."""
        return acting_as(self.stream.function)

    def _refresh_shards(self) -> None:
        with self._reading():
            self._refresh_shards_as_function()

    def _refresh_shards_as_function(self) -> None:
        shards = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in self._iterators:
                continue
            # Tables are created empty by the local stack, so the horizon is the beginning.
            iterator = self._streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            with self.iterator_lock:
                self._iterators[shard_id] = iterator
            self._parents[shard_id] = shard.get("ParentShardId")

    def _reset_iterators(self) -> None:
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
            with self.iterator_lock:
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

    def _run(self) -> None:
        last_refresh = time.monotonic()
        while not self.stop.is_set():
            generation = self.writes.generation(self.table)
            try:
                if time.monotonic() - last_refresh > 30:
                    self._refresh_shards()
                    last_refresh = time.monotonic()
                found = self._poll_once()
            except Exception:
                log.exception("polling the %s stream failed; retrying in 1 s", self.stream.table)
                self.stop.wait(1)
                self._reset_iterators()
                continue
            if found:
                continue
            polled_at = time.monotonic()
            while not self.stop.is_set():
                if self.writes.wait_past(self.table, generation, self.poll_interval_s) != generation:
                    break
                if time.monotonic() - polled_at >= self.idle_poll_s:
                    break

    def _poll_once(self) -> bool:
        """Reads each open shard once; True when a shard may have more records waiting."""
        found = False
        for shard_id in list(self._iterators):
            iterator = self._iterators[shard_id]
            parent = self._parents.get(shard_id)
            if iterator is None or (parent and self._iterators.get(parent)):
                continue  # closed, or its parent still has records to hand out first
            with self.iterator_lock, self._reading():
                response = self._streams.get_records(ShardIterator=iterator, Limit=self.stream.batch_size)
                self._iterators[shard_id] = response.get("NextShardIterator")
            records: list[dict[str, Any]] = response.get("Records", [])  # type: ignore[assignment]
            if records:
                # A full batch may have more behind it: poll again at once. Otherwise wait for a write.
                found = found or len(records) >= self.stream.batch_size
                self._deliver(shard_id, records)
                self._last_seq[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
        return found

    def _deliver(self, shard_id: str, records: list[dict[str, Any]]) -> None:
        name = self.stream.function
        pending = records
        retries = 0
        while pending:
            event = {"Records": [stream_record(r, self.stream_arn, self.region) for r in pending]}
            self.batches += 1
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
            with self._reading():  # Lambda sends it with the function's execution role
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
