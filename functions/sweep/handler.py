"""The `sweep` scheduled function: chat/topology.py names its schedule and job."""

from chat.schedules import scheduled_handler

handler = scheduled_handler("sweep")
