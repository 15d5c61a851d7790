"""What each stream's records mean to the domain: decoded from the stream image and filtered by
event, then handed to the domain function (chat/topology.py names these consumers per stream).

One module per stream: each stream function imports its own consumer and its domain code at cold
start, not the other streams' (and their frames).
"""
