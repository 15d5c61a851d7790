"""The `notify` stream function: chat/topology.py names its stream and consumer."""

from chat.streams import stream_handler

handler = stream_handler("notify")
