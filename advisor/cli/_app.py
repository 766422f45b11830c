"""The ``advisor`` command: a typer app plus a ``main`` that turns errors into exit codes."""

from __future__ import annotations

import contextlib
import functools
import sys
import traceback
from typing import Annotated, Any

import typer

from advisor.cli._common import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, BadOption
from advisor.cli._demo import demo_command
from advisor.cli._inspect import inspect_command
from advisor.cli._probe import probe_command
from advisor.cli._recommend import recommend_command
from advisor.cli._schema import schema_command
from advisor.cli._serve import serve_command, worker_command
from advisor.cli._verify import verify_command

__all__ = ["app", "main"]


def _click_classes(name: str) -> tuple[type[BaseException], ...]:
    """Click's exception ``name`` wherever it lives: typer >= 0.26 vendors click as ``typer._click``."""
    found = {c for c in typer.BadParameter.__mro__ if c.__name__ == name}
    found |= {getattr(typer, name)} if name in {"Exit", "Abort"} else set()
    try:
        import click.exceptions as click_exceptions

        found.add(getattr(click_exceptions, name))
    except ImportError:
        pass
    return tuple(found)


_USAGE_ERRORS = _click_classes("UsageError")
_EXITS = _click_classes("Exit")
_ABORTS = _click_classes("Abort")

app = typer.Typer(
    name="advisor",
    help="Should these related prediction tasks use single-task, multi-task, transfer or meta-learning?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from advisor import __version__

        typer.echo(f"advisor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Paradigm Advisor: evidence-based advice from budgeted probe trainings on your own data."""


app.command("inspect", no_args_is_help=True)(inspect_command)
app.command("probe", no_args_is_help=True)(probe_command)
app.command("recommend", no_args_is_help=True)(recommend_command)
app.command("verify", no_args_is_help=True)(verify_command)
app.command("demo")(demo_command)
app.command("schema")(schema_command)
app.command("serve")(serve_command)
app.command("worker")(worker_command)


def _readable_help(command: Any) -> Any:
    """The help as a user reads it: ``advisor recommend [OPTIONS] DATA`` rather than ``{data}``, and no
    ``<bool>`` type next to a flag (``--quiet``, ``--help``); the other options name their own metavar."""
    commands = getattr(command, "commands", {}) or {}
    for sub in [command, *commands.values()]:
        for param in sub.params:
            if getattr(param, "param_type_name", "") == "argument" and hasattr(param, "_usage_display_name"):
                param._usage_display_name = functools.partial(_usage_name, param)  # typer >= 0.26 writes {data}
                param.display_type_rich = lambda ctx: None  # its help says what it is, rather than <str>
            elif getattr(param, "is_flag", False):
                param.metavar = ""
        with contextlib.suppress(Exception):  # the help option is made on demand: make it now, without a type
            helper = sub.get_help_option(sub.make_context(sub.name, [], resilient_parsing=True))
            if helper is not None:
                helper.metavar = ""
    return command


def _usage_name(param: Any) -> str:
    """An argument's piece of the usage line: ``DATA`` (``[DATA]`` when optional), as click writes it."""
    name = param.metavar or param.name.upper()
    name = name if param.required else f"[{name}]"
    return name + ("..." if param.nargs != 1 else "")


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"advisor: {message}\n")
    sys.stderr.flush()
    return code


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``advisor`` console script."""
    sys.exit(run(argv))


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return the exit code (no ``sys.exit``; used by tests).

    A reader that stops reading early (``advisor recommend ... | head -1``) is no error: the rest of
    the output is dropped quietly and the exit code is the command's own (0, or 3 for a failed gate).
    """
    from advisor.cli._streams import readers_may_leave

    with readers_may_leave():
        code = _run(list(sys.argv[1:] if argv is None else argv))
        try:  # what is still buffered: a full disk shows here, and is reported like any refused write
            sys.stdout.flush()
        except OSError as exc:
            return _fail(f"error: the system refused to write the output: {exc.strerror or exc}", EXIT_INTERNAL)
        return code


def _run(args: list[str]) -> int:
    from probes.exceptions import AdvisorError

    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    command = _readable_help(typer.main.get_command(app))
    try:
        result = command.main(args=args, prog_name="advisor", standalone_mode=False)
    except _EXITS as exc:
        return int(exc.exit_code)
    except _ABORTS:
        return _fail("aborted", 130)
    except _USAGE_ERRORS as exc:
        if not exc.format_message():  # "no arguments": click already printed the help
            return EXIT_USAGE
        hint = f" (see 'advisor {exc.ctx.info_name} --help')" if exc.ctx and exc.ctx.parent else ""
        return _fail(f"error: {exc.format_message()}{hint}", EXIT_USAGE)
    except (AdvisorError, BadOption) as exc:
        if debug:
            traceback.print_exc()
        return _fail(f"error: {exc}", EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except OSError as exc:  # the system refused (a full disk on stdout, an I/O error): say so, not "internal"
        if debug:
            traceback.print_exc()
        where = f" ({exc.filename})" if exc.filename else ""
        return _fail(f"error: the system refused to read or write{where}: {exc.strerror or exc}", EXIT_INTERNAL)
    except Exception as exc:  # the CLI's last line of defence: one line, exit 1
        if debug:
            traceback.print_exc()
        return _fail(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", EXIT_INTERNAL
        )
    return int(result) if isinstance(result, int) else EXIT_OK
