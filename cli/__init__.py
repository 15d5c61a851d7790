"""A command-line chat client: `python -m cli --user alice` (see `python -m cli --help`)."""
