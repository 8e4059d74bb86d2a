"""The command line: thin typer wrappers over the library, printing with rich.

One module per command group, each parsing its options, calling one library function and printing the
result: ``audit``, ``report``, ``models``, ``nightly``; the lab's commands (make-data, train, eval,
meta-eval, story-eval) are in ``lab``. This module assembles them into one ``typer`` app.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mtaudit.base.version import __version__
from mtaudit.cli import audit, lab, models, nightly, report

app = typer.Typer(
    name="mtaudit",
    help="Find machine-translated news articles and measure the damage, sentence by sentence.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
app.command()(audit.audit)
app.command()(models.models)
app.command("report")(report.report_command)
app.command("meta-eval")(lab.meta_eval)
app.command("story-eval")(lab.story_eval)
app.command()(nightly.nightly)
app.command("make-data")(lab.make_data)
app.command()(lab.train)
app.command("eval")(lab.eval_cmd)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"mtaudit {__version__}")
        raise typer.Exit()


def main(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version.")] = False,
) -> None:
    """mtaudit: a machine-translation quality auditor for news."""


app.callback()(main)
