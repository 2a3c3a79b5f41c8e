"""`lectern models`: the model library (list, add, remove, show) and the root/sub choice."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser("models", help="list, add, remove and choose GGUF models",
                       description="The model library: the embedded default model plus GGUF files you add.")
    # Sub-actions take --json too; SUPPRESS keeps `models --json list` from being reset.
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_list)
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")

    q = msub.add_parser("list", help="models in the library and the current root/sub choice")
    q.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    q.set_defaults(func=_list)

    q = msub.add_parser("add", help="add a GGUF file to the library (copied, or linked with --link)")
    q.add_argument("path")
    q.add_argument("--link", action="store_true", help="link to the file instead of copying it")
    q.add_argument("--name", help="library name (default: the file name without .gguf)")
    q.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    q.set_defaults(func=_add)

    q = msub.add_parser("remove", help="remove a model from the library")
    q.add_argument("name")
    q.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    q.set_defaults(func=_remove)

    q = msub.add_parser("show", help="a model's metadata read from its GGUF header")
    q.add_argument("name", nargs="?", default="default")
    q.add_argument("--load", action="store_true", help="also load it and report what really runs (GPU layers, memory)")
    q.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    q.set_defaults(func=_show)

    q = msub.add_parser("endpoints", help="OpenAI-compatible servers to use instead of this machine (none by default)")
    q.add_argument("action", nargs="?", choices=("list", "add", "remove"), default="list")
    q.add_argument("url", nargs="?")
    q.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    q.set_defaults(func=_endpoints)

    q = msub.add_parser("use", help="choose the root model and/or the sub-model")
    q.add_argument("--root", help="model that plans and writes the answer ('endpoints' for the server pool)")
    q.add_argument("--sub", help="model that reads the slices, may be cheaper ('endpoints' for the server pool)")
    q.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    q.set_defaults(func=_use)


def _fail(e: Exception):
    from app.cli import CliError

    return CliError(str(e))


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _list(args) -> int:
    from app.llm import manager

    models = manager.list_models()
    choice = manager.get_choice()
    if args.json:
        print(json.dumps({"models": [m.to_dict() for m in models], "choice": choice}, indent=2))
        return 0
    if not models:
        print("no models: add one with `lectern models add PATH`")
    for m in models:
        roles = [r for r in manager.ROLES if choice[r] in (m.name, m.path.name)]
        tag = f"  [{', '.join(roles)}]" if roles else ""
        print(f"{m.name:32} {_size(m.size):>10}  {'(embedded) ' if m.builtin else ''}{m.path}{tag}")
    return 0


def _add(args) -> int:
    from app.llm import manager
    from app.llm.base import LLMError

    try:
        entry = manager.add_model(args.path, link=args.link, name=args.name)
    except LLMError as e:
        raise _fail(e) from None
    if args.json:
        print(json.dumps(entry.to_dict(), indent=2))
    else:
        print(f"added {entry.name} ({_size(entry.size)}) -> {entry.path}")
    return 0


def _remove(args) -> int:
    from app.llm import manager
    from app.llm.base import LLMError

    try:
        path = manager.remove_model(args.name)
    except LLMError as e:
        raise _fail(e) from None
    if args.json:
        print(json.dumps({"removed": args.name, "path": str(path)}))
    else:
        print(f"removed {args.name} ({path})")
    return 0


def _show(args) -> int:
    from app.llm import manager
    from app.llm.base import LLMError

    try:
        meta = manager.model_metadata(args.name)
        if args.load:
            meta["runtime"] = manager.load_model(None if args.name == manager.DEFAULT_NAME else args.name).info()
    except LLMError as e:
        raise _fail(e) from None
    if args.json:
        print(json.dumps(meta, indent=2, default=str))
        return 0
    template = meta.pop("chat_template") or "(none: ChatML is used)"
    runtime = meta.pop("runtime", None)
    meta["file_size"] = f"{_size(meta['file_size'])} ({meta['file_size']} bytes)"
    for k, v in meta.items():
        print(f"{k:18} {v}")
    print(f"{'chat_template':18} {template if len(template) < 300 else template[:300] + ' ...'}")
    if runtime:
        print("runtime:")
        for k in ("device", "gpu_layers", "n_layers", "gpu_offload_supported", "note", "n_ctx", "n_threads",
                  "load_seconds", "model_bytes", "kv_cache_bytes"):
            if runtime.get(k) not in (None, ""):
                print(f"  {k:16} {runtime[k]}")
    return 0


def _use(args) -> int:
    from app.llm import manager
    from app.llm.base import LLMError

    try:
        choice = manager.set_choice(root=args.root, sub=args.sub) if (args.root or args.sub) else manager.get_choice()
    except LLMError as e:
        raise _fail(e) from None
    if args.json:
        print(json.dumps(choice))
    else:
        print(f"root model: {choice['root']}\nsub-model:  {choice['sub']}")
    return 0


def _endpoints(args) -> int:
    from app.llm import manager
    from app.llm.base import LLMError

    try:
        if args.action == "list":
            urls = manager.get_endpoints()
        elif not args.url:
            raise LLMError(f"`lectern models endpoints {args.action}` needs a URL, e.g. http://127.0.0.1:8080")
        elif args.action == "add":
            urls = manager.add_endpoint(args.url)
        else:
            urls = manager.remove_endpoint(args.url)
    except LLMError as e:
        raise _fail(e) from None
    if args.json:
        print(json.dumps({"endpoints": urls}))
    elif urls:
        print("\n".join(urls))
    else:
        print("no endpoints: every model runs on this machine")
    return 0
