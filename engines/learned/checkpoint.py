"""Checkpoints: weights as safetensors plus a JSON file beside them; loading never unpickles.

A generator checkpoint is two files: ``NAME.safetensors`` (the generator's state dict) and
``NAME.json`` (``{"format": "repose-patn", "version": 1, "generator": GeneratorConfig, ...}``).
A training checkpoint (for ``repose train --resume``) adds ``NAME.train.safetensors`` (both
discriminators and the three Adam optimizers' tensors) and the step/epoch counters in the JSON.
Any of the paths (the .safetensors, the .json, or a run folder holding ``last.*``) can be given.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from realtime.errors import InputError
from realtime.fileio import atomic_path, write_json

log = logging.getLogger(__name__)

FORMAT = "repose-patn"
VERSION = 1


def resolve(path: str | Path) -> tuple[Path, Path]:
    """(weights .safetensors, config .json) of a checkpoint given by either file or a run folder."""
    p = Path(path)
    if p.is_dir():
        p = p / "last.safetensors"
    if p.suffix == ".json":
        weights, config = p.with_suffix(".safetensors"), p
    else:
        weights, config = p, p.with_suffix(".json")
    for f, what in ((weights, "the weights"), (config, "its JSON config")):
        if not f.is_file():
            raise InputError(f"{f}: no such file; a repose checkpoint is NAME.safetensors with NAME.json beside "
                             f"it ({what} missing): train one with `repose train --data VIDEO --out runs/NAME`")
    return weights, config


def read_meta(path: str | Path) -> dict[str, Any]:
    """The JSON part of a checkpoint, checked for format and version."""
    _, config = resolve(path)
    try:
        if config.stat().st_size > 1 << 20:   # untrusted: bounded before reading
            raise ValueError(f"{config.stat().st_size} bytes is far more than a checkpoint config")
        meta = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise InputError(f"{config}: not readable as JSON ({e}); expected a repose checkpoint config") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"{config}: not a repose PATN checkpoint (format {meta.get('format') if isinstance(meta, dict) else None!r}, "
                         f"expected {FORMAT!r})")
    if not isinstance(meta.get("version", 0), int):
        raise InputError(f"{config}: checkpoint version {meta.get('version')!r} is not a number")
    if int(meta.get("version", 0)) > VERSION:
        raise InputError(f"{config}: checkpoint version {meta['version']} is newer than this repose reads ({VERSION})")
    return meta


def save_generator(model, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write ``path`` (.safetensors) and its .json; both atomically. Returns the weights path."""
    from safetensors.torch import save_file

    weights = Path(path).with_suffix(".safetensors")
    module = getattr(model, "module", model)  # DistributedDataParallel wraps the model
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp), metadata={"format": FORMAT})
    meta = {"format": FORMAT, "version": VERSION, "generator": module.cfg.to_dict(), **(extra or {})}
    write_json(weights.with_suffix(".json"), meta)
    return weights


def load_generator(path: str | Path, device: str = "cpu"):
    """(PATNGenerator in eval mode, GeneratorConfig) from a checkpoint; never unpickles."""
    from safetensors.torch import load_file

    from engines.learned.patn import GeneratorConfig, PATNGenerator

    weights, _ = resolve(path)
    meta = read_meta(weights)
    try:
        cfg = GeneratorConfig.from_dict(meta["generator"])
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{weights.with_suffix('.json')}: bad generator config ({e})") from None
    model = PATNGenerator(cfg)
    try:
        state = load_file(str(weights), device="cpu")
    except Exception as e:  # safetensors raises its own SafetensorError on corrupt files
        raise InputError(f"{weights}: not a readable safetensors file ({e})") from None
    own = model.state_dict()
    wrong = sorted(set(own) ^ set(state)) + [k for k in own if k in state and own[k].shape != state[k].shape]
    if wrong:
        raise InputError(f"{weights}: weights do not fit the config in its JSON ({len(wrong)} tensors differ, "
                         f"first {wrong[0]!r}); the two files belong to different checkpoints")
    model.load_state_dict(state)
    return model.to(device).eval(), cfg


# -- training state --------------------------------------------------------------------------------

def _flatten_optimizer(prefix: str, opt) -> tuple[dict, dict]:
    """Optimizer state dict -> (tensors by flat name, JSON-able rest)."""
    import torch

    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"{prefix}.state.{pid}.{k}"] = v.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(prefix: str, tensors: dict, rest: dict) -> dict:
    state: dict[int, dict] = {}
    head = prefix + ".state."
    for name, t in tensors.items():
        if name.startswith(head):
            pid, key = name[len(head):].split(".", 1)
            state.setdefault(int(pid), {})[key] = t
    for name, v in rest.get("scalars", {}).items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = v
    return {"state": state, "param_groups": rest["param_groups"]}


def save_training(path: str | Path, generator, discriminators: dict, optimizers: dict,
                  counters: dict[str, Any], extra: dict[str, Any] | None = None) -> Path:
    """Generator checkpoint plus everything needed to resume (discriminators, optimizers, counters)."""
    from safetensors.torch import save_file

    weights = Path(path).with_suffix(".safetensors")
    train_file = weights.with_name(weights.stem + ".train.safetensors")
    tensors: dict = {}
    opt_meta: dict = {}
    for name, d in discriminators.items():
        module = getattr(d, "module", d)
        tensors.update({f"{name}.{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()})
    for name, opt in optimizers.items():
        t, rest = _flatten_optimizer(f"opt_{name}", opt)
        tensors.update(t)
        opt_meta[name] = rest
    with atomic_path(train_file) as tmp:
        save_file(tensors, str(tmp), metadata={"format": FORMAT + "-train"})
    return save_generator(generator, weights, {**(extra or {}), "training": {**counters, "optimizers": opt_meta}})


def check_training(path: str | Path) -> None:
    """Refuse a damaged training state (headers only, cheap) before a resumed run does any work."""
    from safetensors import safe_open

    weights, _ = resolve(path)
    for f in (weights, weights.with_name(weights.stem + ".train.safetensors")):
        if not f.is_file():
            raise InputError(f"{f}: missing; a resumable run holds last.safetensors, last.json and "
                             "last.train.safetensors; start a new run with another --out")
        try:
            with safe_open(str(f), framework="pt") as handle:
                handle.keys()
        except Exception as e:  # noqa: BLE001 - safetensors raises its own error types
            raise InputError(f"{f}: not a readable safetensors file ({' '.join(str(e).split())[:100]}); "
                             "restore it or start a new run with another --out") from None


def load_training(path: str | Path, generator, discriminators: dict, optimizers: dict) -> dict[str, Any]:
    """Restore a training checkpoint in place; returns its counters (step, epoch, ...)."""
    from safetensors.torch import load_file

    weights, _ = resolve(path)
    meta = read_meta(weights)
    train_file = weights.with_name(weights.stem + ".train.safetensors")
    if "training" not in meta or not train_file.is_file():
        raise InputError(f"{weights}: holds a generator only, not a training state ({train_file.name} missing); "
                         "start a new run with another --out")
    current = weights
    try:
        state = load_file(str(weights), device="cpu")
        getattr(generator, "module", generator).load_state_dict(state)
        current = train_file
        tensors = load_file(str(train_file), device="cpu")
        for name, d in discriminators.items():
            head = name + "."
            sub = {k[len(head):]: v for k, v in tensors.items() if k.startswith(head)}
            getattr(d, "module", d).load_state_dict(sub)
        training = meta["training"]
        for name, opt in optimizers.items():
            opt.load_state_dict(_unflatten_optimizer(f"opt_{name}", tensors, training["optimizers"][name]))
    except Exception as e:  # noqa: BLE001 - safetensors, torch and KeyError all mean a damaged state
        raise InputError(f"{current}: not a usable training state ({e.__class__.__name__}: "
                         f"{' '.join(str(e).split())[:120]}); restore it or start a new run with another --out") from None
    return {k: v for k, v in training.items() if k != "optimizers"}
