"""Powertools Logger and Metrics shared by every function.

Every handler is wrapped in `metrics.log_metrics`, so the metrics an invocation adds are written as
one EMF line when it ends (CloudWatch turns the line into metrics), whether it returns or raises.

No Tracer: no handler records traces, and importing the X-Ray SDK costs about half a second of
every cold start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

NAMESPACE = "Chat"
SERVICE = "chat"


class _EmfProvider(AmazonCloudWatchEMFProvider):
    """Powertools' EMF provider, with two changes for a flush after every invocation:

    * an invocation that added no metric writes nothing and warns nothing (most add none: ping,
      typing, receipts, ...), and leaves no dimension or metadata behind for the next one;
    * one lock around the shared metric set: the local stack and the tests run many invocations
      in threads of one process, and a flush iterating the set while another thread adds to it
      would fail. In Lambda (one invocation at a time) the lock is never contended.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.RLock()

    def add_metric(self, name: str, unit: Any, value: float, resolution: Any = 60) -> None:
        with self._lock:
            super().add_metric(name=name, unit=unit, value=value, resolution=resolution)

    def add_dimension(self, name: str, value: str) -> None:
        with self._lock:
            super().add_dimension(name=name, value=value)

    def add_dimensions(self, **dimensions: str) -> None:
        with self._lock:
            super().add_dimensions(**dimensions)

    def add_metadata(self, key: str, value: Any) -> None:
        with self._lock:
            super().add_metadata(key=key, value=value)

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        with self._lock:
            if raise_on_empty_metrics or (self.metric_set and not is_metrics_disabled()):
                super().flush_metrics(raise_on_empty_metrics=raise_on_empty_metrics)
            else:
                # Nothing to write (or POWERTOOLS_METRICS_DISABLED): still start the next invocation clean.
                self.clear_metrics()


logger = Logger(service=SERVICE)
metrics = Metrics(provider=_EmfProvider(namespace=NAMESPACE, service=SERVICE))


Handler = TypeVar("Handler", bound=Callable[..., Any])


def instrumented(handler: Handler) -> Handler:
    """What every function's handler is wrapped in, in one place: the Lambda context on every log
    line (and no state left from the invocation before), and the invocation's metrics flushed."""
    return logger.inject_lambda_context(clear_state=True)(metrics.log_metrics(handler))  # type: ignore[return-value]
