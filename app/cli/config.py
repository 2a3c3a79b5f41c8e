"""`lectern config`: the run configuration `lectern ask` and the window share
(app/runconfig.py): show it, or set one value."""

from __future__ import annotations

import argparse
import json

SETTABLE = {
    "mode": "guided, repl, direct or rag",
    "max_calls": "most model calls per question, or 'none'",
    "max_tokens": "most tokens per question, or 'none'",
    "max_seconds": "most seconds per question, or 'none'",
    "max_depth": "levels of recursion (0 or more)",
    "n_ctx": "context size in tokens (0 = automatic)",
    "n_threads": "threads (0 = automatic)",
    "n_gpu_layers": "GPU layers (-1 = automatic, 0 = CPU only)",
}


def register(sub) -> None:
    p = sub.add_parser("config", help="show or change the run configuration shared with the window",
                       description="The budget, mode and runtime options `lectern ask` and the window both use. "
                       "Models and servers are set with `lectern models use` and `lectern models endpoints`.",
                       epilog="keys: " + "; ".join(f"{k}: {v}" for k, v in SETTABLE.items()))
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_show)
    cs = p.add_subparsers(dest="config_command", metavar="ACTION")
    s = cs.add_parser("show", help="print the configuration")
    s.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    s.set_defaults(func=_show)
    s = cs.add_parser("set", help="set one value, e.g. `lectern config set max_seconds none`")
    s.add_argument("key", choices=sorted(SETTABLE))
    s.add_argument("value")
    s.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    s.set_defaults(func=_set)


def _show(args) -> int:
    from app.runconfig import RunConfig

    cfg = RunConfig.load()
    if args.json:
        print(json.dumps(cfg.to_dict(), indent=2))
        return 0
    for k, v in cfg.to_dict().items():
        if k in ("max_calls", "max_tokens", "max_seconds") and v is None:
            v = "none (no limit)"
        print(f"{k:13} {v}")
    return 0


def _set(args) -> int:
    from app.cli import CliError
    from app.runconfig import LIMITS, RunConfig, check_limit

    cfg = RunConfig.load()
    kinds = {name: kind for name, kind, _unit in LIMITS}
    try:
        if args.key in kinds:
            value = check_limit(args.key, args.value, kinds[args.key])
        elif args.key == "mode":
            value = args.value
        else:
            value = int(args.value)
        cfg = cfg.replace(**{args.key: value}).save(models=False)
    except ValueError as e:
        raise CliError(str(e)) from None
    if args.json:
        print(json.dumps(cfg.to_dict(), indent=2))
    else:
        print(f"{args.key} = {'none (no limit)' if value is None else value}")
    return 0
