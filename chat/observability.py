"""Powertools Logger and Metrics shared by every function.

No Tracer: no handler records traces, and importing the X-Ray SDK costs about half a second of
every cold start.
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="chat")
metrics = Metrics(namespace="Chat", service="chat")
