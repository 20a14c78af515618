"""The run configuration: one frozen dataclass, written to ``RUN_DIR/config.json`` by ``train``.

``evaluate``, ``convert`` and the runtime read it back so that nothing is guessed later.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeseg import __version__
from edgeseg.errors import ConfigError

CONFIG_NAME = "config.json"
NORMALIZATIONS = ("none", "percentile", "equalize")
DENOISERS = ("none", "median", "gaussian")
LR_SCHEDULES = ("constant", "cosine")  # --lr-schedule (edgeseg.train.schedules)
AUGMENT_PROFILES = ("standard", "ultrasound")  # --augment-profile (edgeseg.train.data)


SEED_MAX = 2**32 - 1  # numpy's SeedSequence and default_rng take 0..2**32-1 here


def check_seed(seed: object, flag: str = "--seed") -> int:
    """``seed`` as an int in 0..2**32-1; a one-line ConfigError otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise ConfigError(f"{flag} {seed!r}: a seed is a whole number from 0 to {SEED_MAX}")
    return seed


def check_count(value: object, flag: str, low: int, high: int) -> int:
    """``value`` as an int in ``low..high``; a one-line ConfigError naming ``flag`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{flag} {value!r}: expected a whole number from {low} to {high}")
    return value


@dataclass(frozen=True)
class ClassSpec:
    """One segmentation class: its name and the mask value that marks it."""

    name: str
    value: int


@dataclass(frozen=True)
class Preprocessing:
    """How a frame becomes a model input; the runtime and the Android core repeat exactly this."""

    height: int = 128
    width: int = 128
    normalize: str = "percentile"
    percentiles: tuple[float, float] = (1.0, 99.0)
    clahe: bool = False
    clahe_clip: float = 2.0
    clahe_tiles: int = 8
    denoise: str = "none"

    def __post_init__(self) -> None:
        if self.normalize not in NORMALIZATIONS:
            raise ConfigError(
                f"normalize={self.normalize!r} is not one of {', '.join(NORMALIZATIONS)}"
            )
        if self.denoise not in DENOISERS:
            raise ConfigError(f"denoise={self.denoise!r} is not one of {', '.join(DENOISERS)}")
        if self.height < 16 or self.width < 16 or self.height % 16 or self.width % 16:
            raise ConfigError(
                f"input size {self.height}x{self.width}: both sides must be multiples of 16 "
                "and at least 16 (e.g. 128x128)"
            )

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the model input."""
        return (self.height, self.width)


# Adam learning rate of quantization-aware fine-tuning: 1/100 of training's. At 1e-4 QAT
# knocked the synthetic pipeline's stem model from val Dice 0.956 to 0.870 and never recovered;
# at 1e-5 it reached 0.960 there, and 0.572 on usgra-seg against 0.563 at 1e-4.
QAT_LEARNING_RATE = 1e-5


def check_learning_rate(lr: float, flag: str = "--lr") -> float:
    """``lr`` if it is a finite number above 0 (Adam diverges otherwise); else ConfigError."""
    if not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        raise ConfigError(
            f"{flag} {lr}: the learning rate must be a finite number above 0 (e.g. 1e-3)"
        )
    return float(lr)


# U-Nets that take a strided stem. Their default (stride 2: the network runs at half the input
# resolution) is about 3x faster in int8 at 128x128; runs saved before the option existed were 1.
STEM_ARCHS = ("resunet", "unet", "resunet_lite", "resunet_slim")


def default_stem_stride(arch: str) -> int:
    """2 for the U-Nets in ``STEM_ARCHS``, 1 (no stem) for every other architecture."""
    return 2 if arch in STEM_ARCHS else 1


# One door for the ImageNet-encoder U-Nets: ``encoder`` (``--encoder``). ``arch="mnv2_unet"`` is a
# documented alias of ``encoder="mobilenetv2"`` (alpha 0.35, random init), kept for older runs and
# compare's ``--models``; ModelSpec turns it into the encoder spelling.
ENCODER_ALIASES = {"mnv2_unet": "mobilenetv2"}


@dataclass(frozen=True)
class ModelSpec:
    """Which network, how wide and deep, and its optional heads.

    With an ``encoder`` (or the ``mnv2_unet`` alias) the arch is ``{encoder}_unet`` and ``depth``
    does not apply: the encoder fixes it (five downsamplings).
    """

    arch: str = "resunet"
    base_filters: int = 12
    depth: int = 3
    presence_head: bool = True
    stem_stride: int | None = None  # None: the architecture's default (see stem())
    refine: bool = False
    encoder: str | None = None
    encoder_weights: str = "none"
    encoder_alpha: float | None = None
    bn_momentum: float = 0.9
    dropout: float = 0.1

    def __post_init__(self) -> None:
        encoder = self.encoder or ENCODER_ALIASES.get(self.arch)
        if encoder:
            object.__setattr__(self, "encoder", encoder)
            object.__setattr__(self, "arch", f"{encoder}_unet")
            if self.stem_stride not in (None, 1) or self.refine:
                raise ConfigError(
                    f"--stem-stride/--refine apply to {' and '.join(STEM_ARCHS)}, "
                    f"not --encoder {encoder}"
                )

    def stem(self) -> int:
        """The stem stride: as given, else 2 for the U-Nets (``STEM_ARCHS``) and 1 otherwise."""
        return self.stem_stride if self.stem_stride is not None else default_stem_stride(self.arch)


@dataclass(frozen=True)
class TrainSpec:
    """Optimisation settings (paper defaults: 50 epochs, batch 16, 80/20 split)."""

    epochs: int = 50
    batch_size: int = 16
    learning_rate: float = 1e-3
    loss: str = "dice_bce"
    val_fraction: float = 0.2
    seed: int = 0
    patience: int = 15
    augment: bool = True
    augment_profile: str = "standard"
    freeze_encoder_epochs: int = 0
    deterministic: bool = False
    # tf.distribute (edgeseg.train.distribute): batch_size is the global batch, split evenly
    # over the replicas; learning_rate is used as given, not scaled by the replica count.
    strategy: str = "default"
    replicas: int = 1
    # edgeseg.train.schedules: "cosine" decays the learning rate over the epochs; ema > 0
    # validates and saves an exponential moving average of the weights (this momentum).
    lr_schedule: str = "constant"
    ema: float = 0.0
    # edgeseg.train.distill: teacher run folders (absolute paths) and the soft masks' weight.
    teachers: tuple[str, ...] = ()
    distill_weight: float = 1.0

    def __post_init__(self) -> None:
        check_seed(self.seed)
        if not (math.isfinite(self.distill_weight) and self.distill_weight > 0):
            raise ConfigError(f"--distill-weight {self.distill_weight}: expected a number above 0")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(
                f"--lr-schedule {self.lr_schedule!r} is not one of {', '.join(LR_SCHEDULES)}"
            )
        if self.augment_profile not in AUGMENT_PROFILES:
            raise ConfigError(
                f"--augment-profile {self.augment_profile!r} is not one of "
                f"{', '.join(AUGMENT_PROFILES)}"
            )
        if not 0.0 <= self.ema < 1.0:
            raise ConfigError(f"--ema {self.ema}: expected 0 (off) or a momentum below 1")


@dataclass(frozen=True)
class PostProcess:
    """Turning probabilities into a mask."""

    threshold: float = 0.5
    min_area: int = 0
    largest_component: bool = False
    presence_threshold: float = 0.5
    presence_gate: bool = False


@dataclass(frozen=True)
class RunConfig:
    """Everything needed after training: data, split, preprocessing, model, classes, threshold."""

    data: str = ""
    layout: str = ""
    classes: tuple[ClassSpec, ...] = (ClassSpec("nerve", 1),)
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    postprocess: PostProcess = field(default_factory=PostProcess)
    subject_regex: str | None = None
    manifest: str | None = None
    val_data: str | None = None
    train_subjects: tuple[str, ...] = ()
    val_subjects: tuple[str, ...] = ()
    train_frames: int = 0
    val_frames: int = 0
    edgeseg_version: str = __version__

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def sha256(self) -> str:
        """A stable hash of the config (embedded in exported models)."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunConfig:
        if not isinstance(raw, dict):
            raise ConfigError(f"config.json holds a {type(raw).__name__}, expected an object")
        for key in ("data", "layout", "subject_regex", "manifest", "val_data"):
            _check_value(key, raw.get(key), "str | None")
        for key in ("train_frames", "val_frames"):
            _check_value(key, raw.get(key, 0), "int")
        for key in ("train_subjects", "val_subjects"):
            subjects = raw.get(key, [])
            if not isinstance(subjects, list) or not all(isinstance(v, str) for v in subjects):
                raise ConfigError(f"config.json field {key} is not a list of subject names")
        try:
            return cls(
                data=raw.get("data", ""),
                layout=raw.get("layout", ""),
                classes=_classes(raw.get("classes", [])),
                preprocessing=_build(Preprocessing, raw.get("preprocessing", {}), "preprocessing"),
                model=_build(ModelSpec, raw.get("model", {}), "model", {"stem_stride": 1}),
                train=_build(TrainSpec, raw.get("train", {}), "train"),
                postprocess=_build(PostProcess, raw.get("postprocess", {}), "postprocess"),
                subject_regex=raw.get("subject_regex"),
                manifest=raw.get("manifest"),
                val_data=raw.get("val_data"),
                train_subjects=tuple(raw.get("train_subjects", ())),
                val_subjects=tuple(raw.get("val_subjects", ())),
                train_frames=int(raw.get("train_frames", 0)),
                val_frames=int(raw.get("val_frames", 0)),
                edgeseg_version=raw.get("edgeseg_version", __version__),
            )
        except TypeError as exc:
            raise ConfigError(f"config.json has an unknown or malformed field: {exc}") from exc

    def save(self, run_dir: Path) -> Path:
        """Write ``run_dir/config.json`` atomically."""
        from edgeseg.io import write_text_atomic

        return write_text_atomic(Path(run_dir) / CONFIG_NAME, json.dumps(self.to_dict(), indent=2))


_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str": (str,),
    "tuple[float, float]": (list, tuple),
    "tuple[str, ...]": (list, tuple),
}


def _check_value(name: str, value: Any, annotation: str) -> None:
    """ConfigError when a config.json value has the wrong JSON type for its field."""
    optional = annotation.endswith(" | None")
    base = annotation.removesuffix(" | None")
    if value is None and optional:
        return
    kinds = _TYPES.get(base)
    wrong = kinds is not None and (
        not isinstance(value, kinds) or (base != "bool" and isinstance(value, bool))
    )
    if base == "tuple[float, float]" and not wrong:
        wrong = len(value) != 2 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value
        )
    if wrong:
        raise ConfigError(
            f"config.json field {name} is {value!r}, expected {annotation}: fix the file or "
            "re-run training"
        )


def _classes(raw: Any) -> tuple[ClassSpec, ...]:
    """The class list of config.json: a non-empty list of {name, value 1..255}, unique."""
    ok = isinstance(raw, list) and raw and all(
        isinstance(c, dict) and set(c) == {"name", "value"} and isinstance(c["name"], str)
        and c["name"] and isinstance(c["value"], int) and not isinstance(c["value"], bool)
        and 1 <= c["value"] <= 255
        for c in raw
    )  # fmt: skip
    if (
        not ok
        or len({c["name"] for c in raw}) != len(raw)
        or len({c["value"] for c in raw}) != len(raw)
    ):
        raise ConfigError(
            f"config.json field classes is {raw!r}: expected a non-empty list of "
            '{"name": ..., "value": 1..255} with unique names and values'
        )
    return tuple(ClassSpec(c["name"], c["value"]) for c in raw)


def _build(
    kind: type, raw: dict[str, Any], section: str, defaults: dict[str, Any] | None = None
) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"config.json field {section} is {raw!r}, expected an object")
    values = {**(defaults or {}), **raw}
    for f in dataclasses.fields(kind):
        if f.name in values:
            _check_value(f"{section}.{f.name}", values[f.name], str(f.type))
            if isinstance(values[f.name], list):
                values[f.name] = tuple(values[f.name])
    return kind(**values)


def load_config(run_dir: Path) -> RunConfig:
    """Read ``run_dir/config.json``; a clear error if the folder is not a training run."""
    path = Path(run_dir) / CONFIG_NAME
    if not Path(run_dir).is_dir():
        raise ConfigError(
            f"run directory {run_dir} does not exist: pass the --out of edgeseg train"
        )
    if not path.is_file():
        raise ConfigError(
            f"{run_dir} has no {CONFIG_NAME}: it is not an edgeseg training run "
            "(run `edgeseg train --data DIR --out RUN_DIR` first)"
        )
    raw = read_json(path, "re-run training")
    try:
        return RunConfig.from_dict(raw)
    except ConfigError as exc:
        text = str(exc)
        text = (
            text.replace("config.json", str(path), 1)
            if "config.json" in text
            else f"{path}: {text}"
        )
        raise ConfigError(text) from exc


def read_json(path: Path, fix: str) -> Any:
    """A JSON file's value; one-line ConfigError naming ``path`` and ``fix`` if it is not
    UTF-8 JSON (OSErrors pass through: the CLI turns them into one line)."""
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text: {fix}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc.msg}): {fix}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path} is nested too deeply to be a config: {fix}") from exc


def parse_classes(text: str | None) -> tuple[ClassSpec, ...]:
    """Parse ``nerve=1,vessel=2``; ``None`` or empty gives the default nerve class."""
    if not text:
        return (ClassSpec("nerve", 1),)
    specs = []
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or not name or not value.strip().isdigit():
            raise ConfigError(
                f"--classes {text!r}: each entry must be NAME=VALUE, e.g. nerve=1,vessel=2"
            )
        specs.append(ClassSpec(name.strip(), int(value)))
    if len({s.name for s in specs}) != len(specs) or len({s.value for s in specs}) != len(specs):
        raise ConfigError(f"--classes {text!r}: names and values must be unique")
    if any(s.value == 0 for s in specs):
        raise ConfigError(f"--classes {text!r}: value 0 is the background, not a class")
    return tuple(specs)


# state.json (written each epoch by edgeseg.train.loop): field -> JSON types it may hold
STATE_FIELDS: dict[str, tuple[type, ...]] = {
    "epoch": (int,),
    "best_val_dice": (int, float),
    "best_epoch": (int,),
    "wait": (int,),
    "finished": (bool,),
}


def load_state(path: Path) -> dict[str, Any]:
    """Read a run's ``state.json``; one-line ConfigError naming it when its shape is wrong.

    Keys other than ``STATE_FIELDS`` are kept (later versions may add some); the known ones must
    have their JSON type (no bool for a number) and epochs/counters may not be below -1.
    """
    fix = "delete it and re-run `edgeseg train` without --resume, or restore it"
    raw = read_json(path, fix)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} holds a {type(raw).__name__}, expected an object: {fix}")
    for key, kinds in STATE_FIELDS.items():
        if key not in raw:
            continue
        value = raw[key]
        bad_type = not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool))
        if bad_type or (kinds == (int,) and value < -1):
            raise ConfigError(f"{path} field {key} is {value!r}: {fix}")
    return raw
