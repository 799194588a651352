"""``frozenbench generate run|status|merge SPEC ...``: make a table with the generation pipeline.

    frozenbench generate run resnet18-cifar100 --executor slurm
    frozenbench generate status resnet18-cifar100
    frozenbench generate merge resnet18-cifar100

SPEC is a TOML file or the name of a grid spec shipped with the pipeline. The arguments are
those of the pipeline's command line (:mod:`generation.cli`, imported only here, so the core
command stays light); ``frozenbench generate --help`` lists them.
"""

from __future__ import annotations

import argparse

#: ``--help`` goes on to the pipeline's parser, which lists run, status and merge.
ADD_HELP = False


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("argv", nargs=argparse.REMAINDER, metavar="run|status|merge SPEC ...",
                        help="the pipeline's subcommand and its arguments")


def run(args: argparse.Namespace) -> int:
    from generation import cli

    rc = int(cli.main(args.argv or ["--help"]))
    # generation.cli returns 2 for a frozenbench error, which this command reports as 1 (2 is
    # for usage errors, which argparse signals by SystemExit instead).
    return 1 if rc == 2 else rc
