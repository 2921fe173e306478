"""`python -m monitor` runs the command line."""

from .cli import run

run()
