"""The ``routilux`` command: check and draw flows without running them.

    routilux check TARGET [--entry ID] [--import MODULE ...] [--json]
    routilux graph TARGET [--format mermaid|dot] [--import MODULE ...]

TARGET is either a saved flow (a ``.json`` file written by ``Flow.save``) or
``package.module:function``, a function that takes no arguments and returns a ``Flow``. Modules
are imported only when named on the command line (``--import``, or the module of a
``module:function`` target): the command line is trusted, the file is not, and a saved flow is
loaded through the registry exactly as ``Flow.load`` does.

Exit status: 0 when the flow has no errors (warnings are printed), 1 when it has errors, 2 when
the target cannot be loaded or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

import attrs

from routilux.errors import RoutiluxError
from routilux.flow import Flow


class TargetError(RoutiluxError, ValueError):
    """The command's target could not be turned into a flow."""


def load_target(target: str, imports: Sequence[str]) -> Flow:
    for module in imports:
        importlib.import_module(module)
    if target.endswith(".json"):
        return Flow.load(target)
    module_name, _, function_name = target.partition(":")
    if not module_name or not function_name:
        raise TargetError(
            f"target {target!r} is neither a .json file nor 'package.module:function'"
        )
    factory = getattr(importlib.import_module(module_name), function_name, None)
    if not callable(factory):
        raise TargetError(f"{module_name} has no function {function_name!r}")
    flow = factory()
    if not isinstance(flow, Flow):
        raise TargetError(f"{target}() returned {type(flow).__name__}, not a Flow")
    return flow


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="routilux", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a flow and list every problem")
    check.add_argument("target")
    check.add_argument("--entry", help="also check that this routine can start a job")
    check.add_argument("--json", action="store_true", help="print the problems as JSON")
    graph = commands.add_parser("graph", help="print the flow as Mermaid or Graphviz DOT")
    graph.add_argument("target")
    graph.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    for sub in (check, graph):
        sub.add_argument(
            "--import",
            dest="imports",
            action="append",
            default=[],
            metavar="MODULE",
            help="import MODULE first (to register routine classes); repeatable",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        flow = load_target(args.target, args.imports)
    except (RoutiluxError, OSError, ImportError) as error:
        print(f"routilux: cannot load {args.target}: {error}", file=sys.stderr)
        return 2
    if args.command == "graph":
        print(flow.to_mermaid() if args.format == "mermaid" else flow.to_dot(), end="")
        return 0
    report = flow.validate(args.entry)
    if args.json:
        print(json.dumps([attrs.asdict(p) for p in report.problems], indent=2))
    else:
        print(report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
