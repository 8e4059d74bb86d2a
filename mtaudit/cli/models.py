"""``mtaudit models``: list (and load or write) the models the audit loads."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from mtaudit.base import exits
from mtaudit.cli.common import JsonOpt, err, out


def models(
    write: Annotated[bool, typer.Option("--write", help="Write models/manifest.json.")] = False,
    load: Annotated[bool, typer.Option("--load", help="Load each model once (warms the caches; the LM's first load dequantises it).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the models the audit loads: name, package, version, upstream weights, licence.

    The packaged models (encoder, lm, ner) show their package's version; our own (the detector, its coverage
    model, the quality weights, all under models/) show the version their file carries, the one in report signatures.

    Exit codes: 0 listed (loaded, written), 2 a model could not be loaded (--load; one line each, the others are loaded).

    Example: [bold]mtaudit models --load[/bold]; [bold]mtaudit models --json[/bold] prints the list as JSON.
    """
    from mtaudit.nlp import registry  # start-up: --help and usage errors load no pandas or torch
    from mtaudit.stages import models as own_models  # start-up, as above; importing it enters our own models in the registry

    listing = registry.manifest()
    if as_json:
        typer.echo(json.dumps(listing, ensure_ascii=False))
    else:
        table = Table(title="models")
        for col in ("name", "package", "version", "upstream", "licence"):
            table.add_column(col)
        for row in listing:
            table.add_row(*(escape(row[k]) for k in ("name", "package", "version", "upstream", "licence")))
        out.print(table)
    failed = 0
    if load:
        for name in registry.ENTRIES:
            try:
                registry.get(name)
            except (ImportError, OSError, RuntimeError, ValueError) as exc:  # a missing package or model file: say which, go on
                failed += 1
                err.print(f"[red]error:[/red] {name}: {escape(str(exc))}", highlight=False)
                continue
            err.print(f"loaded {name}")
    if write:
        registry.write_manifest(own_models.MODELS_DIR / "manifest.json")
    raise typer.Exit(exits.USAGE if failed else exits.CLEAN)
