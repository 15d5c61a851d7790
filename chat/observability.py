"""Powertools Logger, Tracer and Metrics shared by every function."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="chat")
tracer = Tracer(service="chat")
metrics = Metrics(namespace="Chat", service="chat")
