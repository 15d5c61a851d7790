"""The `receipt_push` stream function: chat/topology.py names its stream and consumer."""

from chat.streams import stream_handler

handler = stream_handler("receipt_push")
