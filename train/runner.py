"""Command-level workflows: options -> RunConfig -> data -> training (``pipeline``: pipeline.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from edgeseg.config import (
    QAT_LEARNING_RATE,
    RunConfig,
    check_learning_rate,
    load_config,
)
from edgeseg.datasets import discover, load_arrays, subject_split
from edgeseg.errors import ConfigError
from edgeseg.progress import progress_bar
from edgeseg.train.options import TrainOptions, config_from_options, train_options
from edgeseg.train.shard_manifest import LAYOUT as SHARD_LAYOUT
from edgeseg.train.shard_manifest import is_shard_folder

__all__ = [
    "TrainOptions",
    "config_from_options",
    "load_split",
    "qat_run",
    "train_options",
    "train_run",
]

Log = Callable[[str], None]


def _recorded_hint(run_dir: Path | None, key: str) -> str:
    """What to do when a data folder recorded in a run's config.json is gone."""
    where = Path(run_dir) / "config.json" if run_dir is not None else "config.json"
    return (
        f'it is the "{key}" recorded in {where}; put the data back there or edit that path '
        "(a relative path is read from the current folder)"
    )


def load_split(cfg: RunConfig, resplit: bool = True, run_dir: Path | None = None):
    """Discover the data, split it subject-wise (or use ``val_data``) and load both parts.

    With ``resplit=False`` the split recorded in the config is reused (QAT, resume); a data
    folder recorded there that is gone is then a one-line error naming ``run_dir/config.json``.
    """
    manifest = Path(cfg.manifest) if cfg.manifest else None
    data_hint = "pass --data DIR" if resplit else _recorded_hint(run_dir, "data")
    # packed TFRecords (a run trained from them records layout "shards"): streamed, not loaded
    shards = is_shard_folder(cfg.data) or cfg.layout == SHARD_LAYOUT
    if shards:
        from edgeseg.train.shard_stream import open_shards, shard_part

        samples, layout = open_shards(cfg, data_hint)
    else:
        samples, layout = discover(
            Path(cfg.data), cfg.layout or "auto", cfg.subject_regex, manifest, hint=data_hint
        )
    if cfg.val_data:
        train_s = samples
        val_hint = "pass --val-data DIR" if resplit else _recorded_hint(run_dir, "val_data")
        val_s, _ = discover(Path(cfg.val_data), "auto", cfg.subject_regex, manifest, hint=val_hint)
    elif resplit:
        train_s, val_s = subject_split(samples, cfg.train.val_fraction, cfg.train.seed)
    else:
        train_s = [s for s in samples if s.subject in set(cfg.train_subjects)]
        val_s = [s for s in samples if s.subject in set(cfg.val_subjects)]
        if not train_s or not val_s:
            raise ConfigError(
                f"the split recorded in config.json does not match the frames in {cfg.data}: "
                "was the data moved or renamed?"
            )
    if shards:
        train_arrays, val_arrays = shard_part(cfg, train_s), shard_part(cfg, val_s)
    else:
        with progress_bar("loading frames", len(train_s) + len(val_s)) as bar:
            train_arrays = load_arrays(train_s, cfg.preprocessing, cfg.classes, bar.advance)
            val_arrays = load_arrays(val_s, cfg.preprocessing, cfg.classes, bar.advance)
    cfg = replace(
        cfg,
        layout=layout,
        train_subjects=tuple(sorted({s.subject for s in train_s})),
        val_subjects=tuple(sorted({s.subject for s in val_s})),
        train_frames=len(train_s),
        val_frames=len(val_s),
    )
    return cfg, train_arrays, val_arrays


def train_run(opt: TrainOptions, log: Log = print):
    """``edgeseg train``: build the config, load data, train or resume.

    The run folder is locked while it is written; ``--force`` over an existing run trains in a
    sibling folder that replaces it only once complete (see ``loop.run_folder``). With
    ``--strategy mirrored|multiworker`` or ``--workers N``: ``distribute.distributed_run``.
    """
    if opt.strategy != "default" or opt.workers:
        from edgeseg.train.distribute import distributed_run

        return distributed_run(opt, log)
    from edgeseg.train.loop import run_folder

    with run_folder(opt.out, opt.resume, opt.force) as work:
        result = train_in(opt, work, log)
    return replace(result, run_dir=Path(opt.out))


def train_in(opt: TrainOptions, work: Path, log: Log = print, strategy=None):
    """``train_run``'s work in the folder ``work``: config, data, training (under a
    ``tf.distribute`` strategy if given), then QAT when asked (under the same strategy)."""
    from edgeseg.train.loop import train

    if work != Path(opt.out):  # name the run, not the hidden folder it is built in
        log = _renaming(log, work, Path(opt.out))
    if opt.resume:
        cfg = load_config(work)
    else:
        layout = (
            SHARD_LAYOUT
            if is_shard_folder(opt.data)
            else discover(Path(opt.data), opt.layout, opt.subject_regex, opt.manifest)[1]
        )
        cfg = config_from_options(opt, layout)
    cfg, train_arrays, val_arrays = load_split(cfg, resplit=not opt.resume, run_dir=opt.out)
    log(
        f"data: {cfg.train_frames} training frames ({len(cfg.train_subjects)} subjects), "
        f"{cfg.val_frames} validation frames ({len(cfg.val_subjects)} subjects)"
    )
    if strategy is not None:
        from edgeseg.train.distribute import describe, record_strategy

        cfg = record_strategy(cfg, opt.strategy, strategy)
        log(describe(cfg))
    result = train(
        cfg, work, train_arrays, val_arrays, resume=opt.resume, log=log, strategy=strategy
    )
    if opt.qat:
        from edgeseg.train.qat import qat_finetune

        log(f"quantization-aware fine-tuning for {opt.qat_epochs} epochs")
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            qat_finetune(
                work,
                *in_memory(train_arrays, val_arrays),
                cfg=load_config(work),
                epochs=opt.qat_epochs,
                lr=opt.qat_lr,
                force=True,
                progress=log,
            )
    return result


def in_memory(*parts):
    """Arrays for QAT fine-tuning (it trains on arrays): a streamed shard part is loaded."""
    return [part if isinstance(part, tuple) else part.arrays() for part in parts]


def _renaming(log: Log, work: Path, out: Path) -> Log:
    return lambda message: log(message.replace(str(work), str(out)))


def qat_run(
    run_dir: Path,
    epochs: int = 5,
    lr: float = QAT_LEARNING_RATE,
    force: bool = False,
    log: Log = print,
) -> Path:
    """``edgeseg qat RUN_DIR``: QAT fine-tune on the run's own recorded split."""
    from edgeseg.train.qat import qat_finetune

    check_learning_rate(lr)  # before the frames are loaded
    cfg, train_arrays, val_arrays = load_split(load_config(run_dir), resplit=False, run_dir=run_dir)
    return qat_finetune(
        run_dir,
        *in_memory(train_arrays, val_arrays),
        cfg=cfg,
        epochs=epochs,
        lr=lr,
        force=force,
        progress=log,
    )
