"""The `monitor` command line: a thin layer over the library (monitor.app).

Exit status: 0 on success (also when some feeds failed or SMTP was down: the
errors are printed and stored), 2 for a bad command line or configuration, 1
for anything else with a one-line cause (a traceback only with --debug).

``_base`` holds what every command shares; the command modules register
their commands on its root group when imported here.
"""

from __future__ import annotations

import gc
import sys
from typing import NoReturn

import click

from ..errors import ConfigError, MonitorError
from . import commands, feeds, stories, topics
from ._base import cli

__all__ = ["cli", "main", "run"]
_COMMANDS = (commands, feeds, stories, topics)   # imported for the commands they register


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="monitor", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as e:
        e.show()
        return 2
    except click.exceptions.Exit as e:
        return int(e.exit_code or 0)
    except MonitorError as e:
        if debug:
            raise
        prefix = "configuration error" if isinstance(e, ConfigError) else "error"
        click.echo(f"{prefix}: {e}", err=True)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - the one place that turns crashes into a line
        if debug:
            raise
        first = (str(e).strip().splitlines() or [""])[0]
        click.echo(f"error: {type(e).__name__}: {first} (run with --debug for details)", err=True)
        return 1
    return 0


def run() -> NoReturn:
    """The `monitor` program: main(), then exit. The objects still alive are
    frozen first (gc.freeze), so that the interpreter's final garbage
    collections skip them: exiting took 0.3-0.4 s of CPU after a poll
    (hundreds of modules, SQLAlchemy's and pydantic's structures), 0.1 s with
    the freeze. Every atexit handler still runs, and the command has closed its
    database connections already. Not done by main(), which tests call many
    times in one process."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
