"""The ``townsquare`` command line.

Each pillar contributes its commands from ``townsquare/<pillar>/commands.py`` through
``register(app, bench)``. Commands import heavy libraries (torch, llama.cpp) inside their
functions so that ``townsquare --help`` stays instant.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(help="Townsquare: an open AI social app.", no_args_is_help=True, add_completion=False)
bench = typer.Typer(help="Benchmarks: print a table and, with --json PATH, write the results.",
                    no_args_is_help=True)
app.add_typer(bench, name="bench")

# Modules with a ``register(app, bench)`` function, in the order their commands are listed.
COMMAND_MODULES = [
    "townsquare.commands",
    "townsquare.sim.commands",
    "townsquare.api.commands",
    "townsquare.social.commands",
    "townsquare.studio.commands",
    "townsquare.assistant.commands",
    "townsquare.llm.commands",
    "townsquare.rec.commands",
    "townsquare.feed.commands",
    "townsquare.ops.commands",
    "townsquare.distill.commands",
    "townsquare.bench.commands",
    "townsquare.bench.feed_commands",
    "townsquare.bench.rec_commands",
    "townsquare.bench.studio_commands",
    "townsquare.bench.assistant_commands",
    "townsquare.bench.ops_commands",
    "townsquare.bench.tools_commands",
    "townsquare.bench.voice_commands",
    "townsquare.bench.distill_commands",
]


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app, bench)
    # Every benchmark that writes --json can also draw it: --plot FILE.png (bench/plot.py).
    from townsquare.bench.plot import add_plot_option

    for command in bench.registered_commands:
        command.callback = add_plot_option(command.name or command.callback.__name__, command.callback)


_register_all()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
