"""Command-level workflows: options -> RunConfig -> data -> training (``pipeline``: pipeline.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from edgeseg.config import (
    QAT_LEARNING_RATE,
    ModelSpec,
    PostProcess,
    Preprocessing,
    RunConfig,
    TrainSpec,
    default_stem_stride,
    load_config,
    parse_classes,
)
from edgeseg.datasets import discover, load_arrays, subject_split
from edgeseg.errors import ConfigError
from edgeseg.progress import progress_bar

Log = Callable[[str], None]


@dataclass(frozen=True)
class TrainOptions:
    """What ``edgeseg train`` was asked for (CLI flags, one to one)."""

    data: Path | None
    out: Path
    val_data: Path | None = None
    layout: str = "auto"
    classes: str | None = None
    subject_regex: str | None = None
    manifest: Path | None = None
    val_fraction: float = 0.2
    size: int = 128
    normalize: str = "percentile"
    clahe: bool = False
    denoise: str = "none"
    arch: str = "resunet"
    base_filters: int = 12
    depth: int = 3
    stem_stride: int | None = None
    refine: bool = False
    presence: bool = True
    epochs: int = 50
    batch_size: int = 16
    lr: float = 1e-3
    loss: str = "dice_bce"
    patience: int = 15
    augment: bool = True
    threshold: float = 0.5
    min_area: int = 0
    largest_component: bool = False
    presence_gate: bool = False
    presence_threshold: float = 0.5
    seed: int = 0
    encoder: str | None = None
    encoder_weights: str = "none"
    encoder_alpha: float | None = None
    freeze_encoder_epochs: int = 0
    qat: bool = False
    deterministic: bool = False
    qat_epochs: int = 5
    qat_lr: float = QAT_LEARNING_RATE
    resume: bool = False
    force: bool = False


def _absolute(path: Path | None) -> str | None:
    """A path as an absolute string: config.json must work from any current folder."""
    return str(Path(path).resolve()) if path else None


def config_from_options(opt: TrainOptions, layout: str) -> RunConfig:
    """The run's config; data, val_data and manifest are recorded as absolute paths."""
    arch = f"{opt.encoder}_unet" if opt.encoder else opt.arch
    return RunConfig(
        data=_absolute(opt.data) or "",
        layout=layout,
        classes=parse_classes(opt.classes),
        preprocessing=Preprocessing(
            height=opt.size,
            width=opt.size,
            normalize=opt.normalize,
            clahe=opt.clahe,
            denoise=opt.denoise,
        ),
        model=ModelSpec(
            arch=arch,
            base_filters=opt.base_filters,
            depth=opt.depth,
            stem_stride=default_stem_stride(arch) if opt.stem_stride is None else opt.stem_stride,
            refine=opt.refine,
            presence_head=opt.presence,
            encoder=opt.encoder,
            encoder_weights=opt.encoder_weights,
            encoder_alpha=opt.encoder_alpha,
        ),
        train=TrainSpec(
            epochs=opt.epochs,
            batch_size=opt.batch_size,
            learning_rate=opt.lr,
            loss=opt.loss,
            val_fraction=opt.val_fraction,
            seed=opt.seed,
            patience=opt.patience,
            augment=opt.augment,
            freeze_encoder_epochs=opt.freeze_encoder_epochs,
            deterministic=opt.deterministic,
        ),
        subject_regex=opt.subject_regex,
        manifest=_absolute(opt.manifest),
        val_data=_absolute(opt.val_data),
        postprocess=PostProcess(
            threshold=opt.threshold,
            min_area=opt.min_area,
            largest_component=opt.largest_component,
            presence_gate=opt.presence_gate,
            presence_threshold=opt.presence_threshold,
        ),
    )


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
    """``edgeseg train``: build the config, load data, train or resume."""
    from edgeseg.train.loop import prepare_run_dir, train

    prepare_run_dir(opt.out, opt.resume, opt.force)
    if opt.resume:
        cfg = load_config(opt.out)
    else:
        _, layout = discover(Path(opt.data), opt.layout, opt.subject_regex, opt.manifest)
        cfg = config_from_options(opt, layout)
    cfg, train_arrays, val_arrays = load_split(cfg, resplit=not opt.resume, run_dir=opt.out)
    log(
        f"data: {cfg.train_frames} training frames ({len(cfg.train_subjects)} subjects), "
        f"{cfg.val_frames} validation frames ({len(cfg.val_subjects)} subjects)"
    )
    result = train(cfg, opt.out, train_arrays, val_arrays, resume=opt.resume, log=log)
    if opt.qat:
        from edgeseg.train.qat import qat_finetune

        log(f"quantization-aware fine-tuning for {opt.qat_epochs} epochs")
        qat_finetune(
            opt.out,
            train_arrays,
            val_arrays,
            cfg=load_config(opt.out),
            epochs=opt.qat_epochs,
            lr=opt.qat_lr,
            force=True,
            progress=log,
        )
    return result


def qat_run(
    run_dir: Path,
    epochs: int = 5,
    lr: float = QAT_LEARNING_RATE,
    force: bool = False,
    log: Log = print,
) -> Path:
    """``edgeseg qat RUN_DIR``: QAT fine-tune on the run's own recorded split."""
    from edgeseg.train.qat import qat_finetune

    cfg, train_arrays, val_arrays = load_split(load_config(run_dir), resplit=False, run_dir=run_dir)
    return qat_finetune(
        run_dir,
        train_arrays,
        val_arrays,
        cfg=cfg,
        epochs=epochs,
        lr=lr,
        force=force,
        progress=log,
    )
