#!/usr/bin/env python3
"""Train every domain adapter listed in a config file, then push each with the lora-edge CLI.

    python training/train_all.py --config training/domains.toml
    python training/train_all.py --config training/domains.toml --only support --set max_steps=50

The config (TOML, YAML or JSON) names `base_model`, `out_dir`, a `train` table of defaults (any
train_adapter.py option, underscores for dashes) and a `domains` table: per domain `data`, optional
`eval_data`, `name` (the adapter name to push, default the domain) and overrides. Relative paths are
relative to the config file. When `lora-edge` is on PATH each adapter is pushed with
`lora-edge push <dir> --name <name> --domain <domain>`; otherwise the commands are printed.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_adapter  # noqa: E402  (argument parsing only; torch loads when training starts)

PROG = "train_all"
PATH_KEYS = {"data", "eval_data", "chat_template"}


class ConfigError(Exception):
    pass


def load_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"--config: no such file: {path}")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            import tomllib

            return tomllib.loads(text)
        if path.suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise ConfigError("YAML configs need PyYAML (pip install pyyaml); TOML and JSON need nothing") from None
            return yaml.safe_load(text) or {}
        if path.suffix == ".json":
            return json.loads(text)
    except ConfigError:
        raise
    except Exception as e:  # each parser has its own error type; all mean "this file does not parse"
        raise ConfigError(f"{path}: {str(e).splitlines()[0]}") from None
    raise ConfigError(f"{path}: use a .toml, .yaml/.yml or .json config")


def parse_override(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise ConfigError(f"--set {text}: expected key=value")
    key, value = text.split("=", 1)
    for convert in (int, float):
        try:
            return key.strip(), convert(value)
        except ValueError:
            pass
    return key.strip(), {"true": True, "false": False}.get(value.lower(), value)


def option_names() -> set[str]:
    return {a.dest for a in train_adapter.build_parser()._actions if a.option_strings and a.dest != "help"}


def to_argv(options: dict[str, Any]) -> list[str]:
    """train_adapter.py arguments from config keys: `batch_size = 8` -> `--batch-size 8`."""
    argv = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            argv += [flag] if value else []
        elif isinstance(value, list):
            argv += [flag, ",".join(str(v) for v in value)]
        elif value is not None:
            argv += [flag, str(value)]
    return argv


def plan(config: dict[str, Any], config_dir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One entry per domain: its name, adapter name, output dir and train_adapter argv."""
    known = option_names()
    domains = config.get("domains")
    if not isinstance(domains, dict) or not domains:
        raise ConfigError("the config has no [domains.<name>] tables")
    base_model = args.base_model or config.get("base_model")
    if not base_model:
        raise ConfigError("no base_model in the config (or --base-model)")
    if "/" in str(base_model) and (config_dir / base_model).exists() and not args.base_model:
        base_model = str((config_dir / base_model).resolve())  # a local folder, relative to the config
    out_dir = Path(args.out_dir) if args.out_dir else (config_dir / config.get("out_dir", "out/adapters")).resolve()
    only = set(args.only.split(",")) if args.only else None
    if only and not only <= set(domains):
        raise ConfigError(f"--only: unknown domain(s) {', '.join(sorted(only - set(domains)))}; config has {', '.join(domains)}")
    overrides = dict(parse_override(s) for s in args.set)

    runs = []
    for domain, table in domains.items():
        if only and domain not in only:
            continue
        options = {**config.get("train", {}), **{k: v for k, v in table.items() if k != "name"}, **overrides}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"domain {domain}: unknown option(s) {', '.join(unknown)} (see train_adapter.py --help)")
        if "data" not in options:
            raise ConfigError(f"domain {domain}: no data file")
        for key in PATH_KEYS & set(options):
            options[key] = str((config_dir / options[key]).resolve())
        out = out_dir / domain
        options.update(model=base_model, out=str(out), domain=domain)
        runs.append({"domain": domain, "name": table.get("name", domain), "out": out, "argv": to_argv(options)})
    return runs


def push_command(run: dict[str, Any]) -> list[str]:
    return ["lora-edge", "push", str(run["out"]), "--name", run["name"], "--domain", run["domain"]]


def main(argv: list[str] | None = None) -> int:
    parser = train_adapter.OneLineParser(prog="train_all.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, type=Path, help="TOML, YAML or JSON config (e.g. training/domains.toml)")
    parser.add_argument("--only", help="comma-separated domains to train (default: all)")
    parser.add_argument("--base-model", help="override the config's base_model")
    parser.add_argument("--out-dir", help="override the config's out_dir")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a training option for every domain, e.g. --set max_steps=100 (repeatable)")
    parser.add_argument("--no-push", action="store_true", help="train only; print the push commands")
    try:
        args = parser.parse_args(argv)
        runs = plan(load_config(args.config), args.config.resolve().parent, args)
        # Validate every domain's arguments before the first (long) training starts.
        parsed = [train_adapter.parse(run["argv"]) for run in runs]
    except (ConfigError, train_adapter.UsageError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2

    results = []
    for i, (run, run_args) in enumerate(zip(runs, parsed), 1):
        print(f"{PROG}: [{i}/{len(runs)}] training {run['domain']} -> {run['out']}", file=sys.stderr, flush=True)
        try:
            metrics = train_adapter.run(run_args)
        except train_adapter.UsageError as e:
            print(f"{PROG}: error: {run['domain']}: {e}", file=sys.stderr)
            return 2
        results.append((run, metrics))
        release_memory()

    print(f"\n{'domain':<12}{'eval ppl before':>16}{'after':>10}{'tokens/s':>11}  adapter")
    for run, m in results:
        print(f"{run['domain']:<12}{m['eval_perplexity_before']:>16.2f}{m['eval_perplexity_after']:>10.2f}"
              f"{m['tokens_per_second']:>11.0f}  {run['out']}")

    cli = shutil.which("lora-edge")
    if args.no_push or cli is None:
        why = "--no-push" if args.no_push else "lora-edge is not on PATH (npm install -g, or npx lora-edge)"
        print(f"\n{PROG}: not pushing ({why}); to push, run:")
        for run, _ in results:
            print("  " + shlex.join(push_command(run)))
        return 0
    failed = 0
    for run, _ in results:
        command = [cli, *push_command(run)[1:]]
        print(f"{PROG}: {shlex.join(push_command(run))}", file=sys.stderr, flush=True)
        if subprocess.run(command).returncode != 0:
            print(f"{PROG}: push of {run['domain']} failed", file=sys.stderr)
            failed += 1
    if failed:
        print(f"{PROG}: {failed} of {len(results)} pushes failed", file=sys.stderr)
        return 1
    return 0


def release_memory() -> None:
    """Free the last model before the next domain loads its own copy of the base."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


if __name__ == "__main__":
    sys.exit(main())
