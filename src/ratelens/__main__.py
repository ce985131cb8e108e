"""``python -m ratelens`` runs the CLI."""

from ratelens.cli import main

main()
