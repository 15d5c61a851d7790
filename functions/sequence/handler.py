"""The `sequence` queue function: stores the sends queued for busy conversations (chat/sequencer.py)."""

from chat.queues import queue_handler

handler = queue_handler("sequence")
