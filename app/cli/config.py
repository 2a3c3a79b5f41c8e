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
    "meaning": "rank passages by meaning too, with the sentence-embedding model: on or off",
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
    s = cs.add_parser("option", help="set or clear a strategy option, e.g. `lectern config option ladder compose`",
                      description="Tune guided mode (app/rlm/guided.py GuidedOptions) and the model ladder for every "
                      "question, in the CLI and the window. Without VALUE, list the options; --unset restores a default.")
    s.add_argument("key", nargs="?")
    s.add_argument("value", nargs="?")
    s.add_argument("--unset", action="store_true", help="remove the option (its default applies)")
    s.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    s.set_defaults(func=_option)


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
        elif args.key == "meaning":
            words = {"on": True, "yes": True, "true": True, "1": True, "off": False, "no": False, "false": False, "0": False}
            if args.value.lower() not in words:
                raise ValueError(f"meaning is on or off (got {args.value!r})")
            value = words[args.value.lower()]
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


def strategy_options() -> dict:
    """name -> (default, one line), for every option a run understands."""
    import dataclasses

    from app.rlm.guided import GuidedOptions
    from app.rlm.ladder import RUNGS

    out = {f.name: (f.default, "guided mode") for f in dataclasses.fields(GuidedOptions)}
    out["ladder"] = ("", "how much the model decides: " + ", ".join(RUNGS) + " (default: by the model's size)")
    out["repl_fallback"] = (True, "repl mode: guided mode answers when the REPL ends at not found, or, for a "
                                  "model under 3B, with an answer the documents do not state")
    return out


def parse_option(key: str, raw: str):
    """The value for option `key`, typed like its default; ValueError with a readable message."""
    import math

    from app.rlm.ladder import RUNGS

    known = strategy_options()
    if key not in known:
        raise ValueError(f"unknown option {key!r}: choose one of {', '.join(sorted(known))}")
    default = known[key][0]
    if key == "ladder":
        if raw not in RUNGS:
            raise ValueError(f"ladder must be one of {', '.join(RUNGS)}")
        return raw
    if isinstance(default, bool):
        if raw.lower() in ("true", "yes", "on", "1"):
            return True
        if raw.lower() in ("false", "no", "off", "0"):
            return False
        raise ValueError(f"{key} is true or false")
    try:
        value = type(default)(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a {type(default).__name__} (got {raw!r})") from None
    if isinstance(value, float) and not math.isfinite(value) or isinstance(value, (int, float)) and value < 0:
        raise ValueError(f"{key} must be a finite number of 0 or more")
    return value


def _option(args) -> int:
    from app.cli import CliError
    from app.runconfig import RunConfig

    cfg = RunConfig.load()
    if not args.key:
        for name, (default, what) in sorted(strategy_options().items()):
            now = cfg.options.get(name, default)
            print(f"{name:20} {now!s:10} {'(set)' if name in cfg.options else ''}  {what}")
        return 0
    options = dict(cfg.options)
    try:
        if args.unset:
            options.pop(args.key, None)
        elif args.value is None:
            raise ValueError("give a value, or --unset")
        else:
            options[args.key] = parse_option(args.key, args.value)
        cfg.options = options
        cfg.save(models=False)
    except ValueError as e:
        raise CliError(str(e)) from None
    if getattr(args, "json", False):
        print(json.dumps(cfg.options, indent=2))
    else:
        print(f"{args.key} = {options.get(args.key, '(default)')}")
    return 0
