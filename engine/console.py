"""How the command line talks: the shared `--format` option, JSON results and errors, colour
(only on a terminal, never under NO_COLOR) and timed progress. Commands import these helpers;
`engine.cli.main` is still the one place where errors become exit codes."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import click

from engine.errors import ConfigError, EngineError


class Output:
    """What the error boundary must know about the running command: the format it prints in,
    and when it started (for the elapsed time of progress lines)."""

    current: ClassVar[Output | None] = None  # the latest command's, for threads without a click context

    def __init__(self) -> None:
        self.format = "text"
        self.started = time.monotonic()
        self.debug_log: logging.Handler | None = None
        Output.current = self

    def close(self) -> None:
        if self.debug_log is not None:
            logging.getLogger("engine").removeHandler(self.debug_log)
            logging.getLogger("engine").setLevel(logging.NOTSET)


def format_option(*choices: str, default: str = "text", help: str = "Output format; json is for scripts and CI.",
                  ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The shared `--format` option (passed to the command as `fmt`).

    It is eager and recorded on the `Output`, so that an error raised by the command, even one
    in a later argument, is printed by `main` as JSON on stdout when json was asked for.
    """
    def remember(ctx: click.Context, _: click.Parameter, value: str) -> str:
        output = ctx.find_object(Output)
        if output is not None:
            output.format = value
        return value

    return click.option("--format", "fmt", type=click.Choice(list(choices or ("text", "json"))), default=default,
                        show_default=True, is_eager=True, callback=remember, help=help)


FORMAT = format_option()


def emit_json(data: object) -> None:
    """A result on stdout as indented JSON with sorted keys: stable for scripts and diffs."""
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def colour_enabled() -> bool | None:
    """`None` lets click decide (colour only on a terminal); `NO_COLOR` turns it off everywhere."""
    return False if os.environ.get("NO_COLOR") else None


def echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """click.echo honouring NO_COLOR; ANSI styles are stripped when the stream is no terminal."""
    click.echo(text, err=err, nl=nl, color=colour_enabled())


def elapsed() -> str:
    context = click.get_current_context(silent=True)
    output = context.find_object(Output) if context is not None else Output.current
    return f"[{time.monotonic() - (output.started if output else time.monotonic()):6.1f}s] "


_PROGRESS = threading.Lock()  # deploy workers report from several threads: one message at a time


def progress(message: str) -> None:
    """Progress on stderr, timed on a terminal. A synthesis `Stage` shows on a terminal only;
    a deploy report (stack steps, plan summaries) always, since CI logs need it."""
    from engine.synth import Stage  # noqa: PLC0415 - synthesis is heavy; `validate` never gets here

    terminal = sys.stderr.isatty()
    if isinstance(message, Stage) and not terminal:
        return
    prefix = styled(elapsed(), "bright_black") if terminal else ""
    with _PROGRESS:
        echo("\n".join(prefix + colour_change(line) for line in message.splitlines()), err=True)


CHANGE_COLOURS = {"-": "red", "-/+": "yellow", "~": "yellow", "+": "green"}


def colour_change(line: str) -> str:
    """Colour a plan summary's resource line by its action: destroys red, replacements yellow."""
    mark, _, rest = line.strip().partition(" ")
    colour = CHANGE_COLOURS.get(mark) if line.startswith("  ") and rest else None
    return styled(line, colour, bold=mark in ("-", "-/+")) if colour else line


def styled(text: str, colour: str | None, *, bold: bool = False) -> str:
    return click.style(text, fg=colour, bold=bold)


def json_error(exc: EngineError, code: int, *, kind: str = "user") -> None:
    """Under `--format json` an error is a JSON document on stdout, like every result."""
    error: dict[str, object] = {"kind": kind, "exit_code": code, "message": exc.message, "hint": exc.hint}
    if isinstance(exc, ConfigError):
        error["problems"] = [p.as_dict() for p in exc.problems]
    error.update(exc.details())
    emit_json({"error": error})
