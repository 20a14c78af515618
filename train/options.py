"""The one door into a training run: :class:`TrainOptions`, checked once, then a ``RunConfig``.

In the spirit of Ultralytics' ``get_cfg`` + ``check_dict_alignment``: ``edgeseg train``'s flags
and a Python caller's keyword arguments build the same frozen :class:`TrainOptions`
(:func:`train_options` names a misspelt option and its closest match), whose construction
checks every name, range and combination, so a Python caller gets the CLI's validation.
:func:`config_from_options` then maps the options onto the run's ``RunConfig`` through one table
(:data:`CONFIG_FIELDS`), instead of retyping each flag.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeseg.config import (
    CONFIG_NAME,
    QAT_LEARNING_RATE,
    ModelSpec,
    PostProcess,
    Preprocessing,
    RunConfig,
    TrainSpec,
    check_count,
    check_learning_rate,
    default_stem_stride,
    load_config,
    parse_classes,
)
from edgeseg.errors import ConfigError
from edgeseg.train.distribute import JOIN_TIMEOUT_S, check_strategy

BIG = 1_000_000  # upper bound of counts nobody means to exceed (epochs, filters, pixels)


@dataclass(frozen=True)
class TrainOptions:
    """What ``edgeseg train`` was asked for (its flags, one to one), checked when built.

    The recipe defaults are the ``DEFAULT_PRESET`` of ``edgeseg.train.recipes`` (issue 17);
    ``--preset wave1`` trains the first default.
    """

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
    arch: str = "resunet_slim"
    base_filters: int = 12
    depth: int = 3
    stem_stride: int | None = None
    refine: bool = False
    presence: bool = True
    epochs: int = 80
    batch_size: int = 8
    lr: float = 1e-3
    lr_schedule: str = "cosine"
    ema: float = 0.98
    teacher: str | None = None
    distill_weight: float = 1.0
    loss: str = "dice_bce"
    patience: int = 80
    augment: bool = True
    augment_profile: str = "standard"
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
    strategy: str = "default"
    workers: int = 0
    join_timeout: int = JOIN_TIMEOUT_S
    resume: bool = False
    force: bool = False

    def __post_init__(self) -> None:
        check_options(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


OPTION_NAMES = tuple(f.name for f in dataclasses.fields(TrainOptions))
# The defaults ``edgeseg train``'s flags show and use (one place: the dataclass above).
OPTION_DEFAULTS: dict[str, Any] = {
    f.name: f.default
    for f in dataclasses.fields(TrainOptions)
    if f.default is not dataclasses.MISSING
}

# Whole-number options: (lowest, highest) accepted.
COUNTS: dict[str, tuple[int, int]] = {
    "size": (32, 4096),
    "base_filters": (1, 1024),
    "depth": (1, 8),
    "epochs": (1, BIG),
    "batch_size": (1, BIG),
    "patience": (1, BIG),
    "freeze_encoder_epochs": (0, BIG),
    "workers": (0, 64),
    "join_timeout": (1, 86_400),
    "qat_epochs": (1, BIG),
}
# Number options: closed interval accepted. (Thresholds, minimum area, seed, input size and
# the choices of normalize/denoise are checked where they live: the config's sections and the
# frame contract's check_postprocess.)
RANGES: dict[str, tuple[float, float]] = {
    "val_fraction": (0.05, 0.5),
}

# Option -> the RunConfig fields it sets ("section.field"); the others are mapped by hand in
# config_from_options (paths made absolute, classes parsed, arch from encoder, stem default).
CONFIG_FIELDS: dict[str, tuple[str, ...]] = {
    "size": ("preprocessing.height", "preprocessing.width"),
    "normalize": ("preprocessing.normalize",),
    "clahe": ("preprocessing.clahe",),
    "denoise": ("preprocessing.denoise",),
    "base_filters": ("model.base_filters",),
    "depth": ("model.depth",),
    "refine": ("model.refine",),
    "presence": ("model.presence_head",),
    "encoder": ("model.encoder",),
    "encoder_weights": ("model.encoder_weights",),
    "encoder_alpha": ("model.encoder_alpha",),
    "epochs": ("train.epochs",),
    "batch_size": ("train.batch_size",),
    "lr": ("train.learning_rate",),
    "lr_schedule": ("train.lr_schedule",),
    "ema": ("train.ema",),
    "distill_weight": ("train.distill_weight",),
    "loss": ("train.loss",),
    "val_fraction": ("train.val_fraction",),
    "seed": ("train.seed",),
    "patience": ("train.patience",),
    "augment": ("train.augment",),
    "augment_profile": ("train.augment_profile",),
    "freeze_encoder_epochs": ("train.freeze_encoder_epochs",),
    "deterministic": ("train.deterministic",),
    "strategy": ("train.strategy",),
    "threshold": ("postprocess.threshold",),
    "min_area": ("postprocess.min_area",),
    "largest_component": ("postprocess.largest_component",),
    "presence_gate": ("postprocess.presence_gate",),
    "presence_threshold": ("postprocess.presence_threshold",),
}
SECTIONS = {
    "preprocessing": Preprocessing,
    "model": ModelSpec,
    "train": TrainSpec,
    "postprocess": PostProcess,
}


def flag(name: str) -> str:
    """The CLI spelling of an option: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


def _number(name: str, value: Any, low: float, high: float) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not low <= value <= high:
        raise ConfigError(f"{flag(name)} {value!r}: expected a number from {low:g} to {high:g}")


def check_options(opt: TrainOptions) -> TrainOptions:
    """ConfigError (one line naming the flag) for the first bad value or combination."""
    from edgeseg.datasets import subject_pattern

    if opt.data is None and not opt.resume:
        raise ConfigError(
            "--data is required (a folder with images/ + masks/, or Kaggle .tif files)"
        )
    for name, (low, high) in COUNTS.items():
        check_count(getattr(opt, name), flag(name), low, high)
    for name, (low, high) in RANGES.items():
        _number(name, getattr(opt, name), low, high)
    if opt.stem_stride not in (None, 1, 2):
        raise ConfigError(f"--stem-stride {opt.stem_stride!r}: expected 1 or 2")
    check_learning_rate(opt.lr)
    check_learning_rate(opt.qat_lr, "--qat-lr")
    sections(opt)  # each section checks its own fields
    if opt.encoder_alpha is not None and (opt.encoder is None or opt.encoder_alpha <= 0):
        raise ConfigError(
            f"--encoder-alpha {opt.encoder_alpha}: needs --encoder and a value above 0"
        )
    if opt.encoder is None and (opt.encoder_weights != "none" or opt.freeze_encoder_epochs):
        raise ConfigError(
            "--encoder-weights and --freeze-encoder-epochs need --encoder (mobilenetv2 or "
            "mobilenetv3small)"
        )
    subject_pattern(opt.subject_regex)  # a bad regex fails here, before any work
    parse_classes(opt.classes)
    check_strategy(opt.strategy, opt.workers)
    check_teachers(opt)
    return opt


def train_options(preset: str | None = None, **kwargs: Any) -> TrainOptions:
    """:class:`TrainOptions` from keyword arguments (CLI flags or a Python caller's settings).

    An unknown name is a ConfigError naming the closest option; paths may be strings.
    ``preset``: a named recipe (``edgeseg.train.recipes.PRESETS``) under the given options.
    """
    if preset is not None:
        from edgeseg.train.recipes import with_preset

        kwargs = with_preset(preset, kwargs)
    unknown = [k for k in kwargs if k not in OPTION_NAMES]
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, OPTION_NAMES, n=1)
        hint = (
            f": did you mean {close[0]!r}?"
            if close
            else f"; the options are {', '.join(OPTION_NAMES)}"
        )
        raise ConfigError(f"unknown train option {name!r}{hint}")
    for key in ("data", "out", "val_data", "manifest"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = Path(kwargs[key])
    if "out" not in kwargs:
        raise ConfigError("train options need out (the run directory to write)")
    kwargs.setdefault("data", None)
    return TrainOptions(**kwargs)


def _absolute(path: Path | None) -> str | None:
    """A path as an absolute string: config.json must work from any current folder."""
    return str(Path(path).resolve()) if path else None


def sections(opt: TrainOptions) -> dict[str, Any]:
    """The RunConfig sections the options set (``CONFIG_FIELDS``), each validated as built."""
    from edgeseg.contract import check_postprocess

    values: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for name, targets in CONFIG_FIELDS.items():
        for target in targets:
            section, field = target.split(".")
            values[section][field] = getattr(opt, name)
    arch = f"{opt.encoder}_unet" if opt.encoder else opt.arch
    stem = default_stem_stride(arch) if opt.stem_stride is None else opt.stem_stride
    values["model"].update(arch=arch, stem_stride=stem)
    values["train"]["teachers"] = tuple(str(p.resolve()) for p in parse_teachers(opt.teacher))
    built = {section: SECTIONS[section](**fields) for section, fields in values.items()}
    check_postprocess(built["postprocess"])
    return built


def parse_teachers(text: str | None) -> tuple[Path, ...]:
    """``--teacher`` (run folders separated by commas) -> paths; ConfigError for one that is not
    a training run (``edgeseg.train.distill`` checks its best checkpoint when it loads it)."""
    if not text:
        return ()
    paths = tuple(Path(p.strip()) for p in text.split(",") if p.strip())
    if not paths:
        raise ConfigError(f"--teacher {text!r}: expected run folders separated by commas")
    for path in paths:
        if not (path / CONFIG_NAME).is_file():
            raise ConfigError(
                f"--teacher {path}: not an edgeseg training run (no {CONFIG_NAME}); train the "
                f"teacher first: edgeseg train --data DIR --out {path}"
            )
    return paths


def check_teacher(teacher: RunConfig, student: RunConfig, path: Path) -> None:
    """ConfigError unless ``teacher`` sees frames as the student does and has its classes."""
    if teacher.preprocessing != student.preprocessing:
        raise ConfigError(
            f"--teacher {path} prepares frames differently ({teacher.preprocessing}) from this "
            f"run ({student.preprocessing}): train the teacher with the same --size, "
            "--normalize, --clahe and --denoise"
        )
    if teacher.class_names != student.class_names:
        raise ConfigError(
            f"--teacher {path} has classes {', '.join(teacher.class_names)}, this run "
            f"{', '.join(student.class_names)}: pass the same --classes"
        )


def check_teachers(opt: TrainOptions) -> None:
    """Each ``--teacher`` run sees frames as this run will, and has its classes."""
    teachers = parse_teachers(opt.teacher)
    if not teachers:
        return
    student = RunConfig(classes=parse_classes(opt.classes), **sections(opt))
    for path in teachers:
        check_teacher(load_config(path), student, path)


def config_from_options(opt: TrainOptions, layout: str) -> RunConfig:
    """The run's config; data, val_data and manifest are recorded as absolute paths."""
    return RunConfig(
        data=_absolute(opt.data) or "",
        layout=layout,
        classes=parse_classes(opt.classes),
        subject_regex=opt.subject_regex,
        manifest=_absolute(opt.manifest),
        val_data=_absolute(opt.val_data),
        **sections(opt),
    )
