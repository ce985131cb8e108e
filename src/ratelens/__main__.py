"""``python -m ratelens`` runs the CLI (the same entry point as the ``ratelens`` command)."""

from ratelens._start import run

run()
