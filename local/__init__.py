"""The local stack: the whole chat backend on one machine (`python -m local`, `make dev`)."""
