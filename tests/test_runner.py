"""``train/runner.py`` without training: the config records absolute data paths, and a run whose
recorded data folder is gone fails with one line naming config.json."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from edgeseg.config import load_config
from edgeseg.errors import DataError
from edgeseg.train.runner import TrainOptions, config_from_options, load_split


def test_config_records_absolute_data_paths(tmp_path, monkeypatch, synth_dir):
    monkeypatch.chdir(synth_dir.parent)
    manifest = synth_dir.parent / "subjects.csv"
    opt = TrainOptions(
        data=Path(synth_dir.name),
        out=tmp_path / "run",
        val_data=Path(".") / synth_dir.name,
        manifest=Path(manifest.name),
    )
    cfg = config_from_options(opt, "paired")
    assert cfg.data == str(synth_dir.resolve())
    assert cfg.val_data == str(synth_dir.resolve())
    assert cfg.manifest == str(manifest.resolve())
    assert (
        config_from_options(replace(opt, val_data=None, manifest=None), "paired").manifest is None
    )


def test_recorded_split_loads_from_another_folder(tmp_path, monkeypatch, synth_dir):
    """QAT and --resume reuse config.json's data: it must not depend on the current folder."""
    monkeypatch.chdir(synth_dir.parent)
    opt = TrainOptions(data=Path(synth_dir.name), out=tmp_path / "run", size=64)
    opt = replace(opt, subject_regex=r"^(s\d+)_")
    cfg, _, _ = load_split(config_from_options(opt, "paired"))
    cfg.save(tmp_path)
    monkeypatch.chdir(tmp_path)
    again, (train_x, _), (val_x, _) = load_split(load_config(tmp_path), resplit=False)
    assert (len(train_x), len(val_x)) == (cfg.train_frames, cfg.val_frames)
    assert again.train_subjects == cfg.train_subjects


def test_missing_recorded_data_is_one_line_naming_config(tmp_path, monkeypatch, synth_dir):
    opt = TrainOptions(data=synth_dir, out=tmp_path / "run", size=64, subject_regex=r"^(s\d+)_")
    cfg, _, _ = load_split(config_from_options(opt, "paired"))
    old = replace(cfg, data="../shared/data/usgra-seg/dataset")  # a run saved before the fix
    run = tmp_path / "run"
    old.save(run)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as info:
        load_split(load_config(run), resplit=False, run_dir=run)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("data folder ../shared/data/usgra-seg/dataset does not exist: ")
    assert str(run / "config.json") in message
    with pytest.raises(DataError, match="does not exist: pass --val-data DIR"):
        load_split(replace(cfg, val_data=str(tmp_path / "gone")))


# ----------------------------------------------------------------------------- the config door


def test_unknown_option_names_the_closest_one(tmp_path):
    from edgeseg.errors import ConfigError
    from edgeseg.train.options import train_options

    with pytest.raises(ConfigError, match="unknown train option 'epoch': did you mean 'epochs'"):
        train_options(data=tmp_path, out=tmp_path / "r", epoch=3)
    opt = train_options(data=str(tmp_path), out=str(tmp_path / "r"), epochs=3)
    assert (opt.data, opt.epochs) == (tmp_path, 3)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"patience": 0}, "--patience 0: expected a whole number from 1 to"),
        ({"epochs": 1.5}, "--epochs 1.5: expected a whole number"),
        ({"val_fraction": 0.9}, "--val-fraction 0.9: expected a number from 0.05 to 0.5"),
        ({"lr": -1.0}, "--lr -1.0: the learning rate must be a finite number above 0"),
        ({"threshold": 2.0}, "--threshold 2.0: must be between 0 and 1"),
        ({"min_area": -1}, "--min-area -1: must be 0 or more pixels"),
        ({"size": 40}, "input size 40x40: both sides must be multiples of 16"),
        ({"seed": -1}, "--seed -1: a seed is a whole number"),
        ({"stem_stride": 4}, "--stem-stride 4: expected 1 or 2"),
        ({"encoder_alpha": 0.5}, "--encoder-alpha 0.5: needs --encoder"),
        ({"freeze_encoder_epochs": 2}, "--freeze-encoder-epochs need --encoder"),
        ({"subject_regex": "("}, "--subject-regex '\\(': not a regular expression"),
        ({"classes": "nerve"}, "--classes 'nerve': each entry must be NAME=VALUE"),
        ({"data": None}, "--data is required"),
    ],
)
def test_python_callers_get_the_cli_checks(tmp_path, kwargs, message):
    """TrainOptions checks itself when built: the CLI and a Python caller share every rule."""
    from edgeseg.errors import ConfigError

    with pytest.raises(ConfigError, match=message) as info:
        TrainOptions(**{"data": tmp_path, "out": tmp_path / "r", **kwargs})
    assert "\n" not in str(info.value)


def test_every_table_row_reaches_the_run_config(tmp_path):
    """Each option of CONFIG_FIELDS lands in the config field(s) it names, nowhere else."""
    from edgeseg.train.options import CONFIG_FIELDS

    changed = {
        "size": 64,
        "normalize": "equalize",
        "clahe": True,
        "denoise": "median",
        "base_filters": 5,
        "depth": 2,
        "refine": True,
        "presence": False,
        "encoder": "mobilenetv2",
        "encoder_weights": "imagenet",
        "encoder_alpha": 0.5,
        "epochs": 7,
        "batch_size": 3,
        "lr": 0.02,
        "lr_schedule": "constant",
        "ema": 0.9,
        "augment_profile": "ultrasound",
        "distill_weight": 0.5,
        "loss": "dice",
        "val_fraction": 0.3,
        "seed": 9,
        "patience": 4,
        "augment": False,
        "freeze_encoder_epochs": 2,
        "deterministic": True,
        "threshold": 0.25,
        "min_area": 11,
        "largest_component": True,
        "presence_gate": True,
        "presence_threshold": 0.75,
        "strategy": "mirrored",
    }
    assert set(changed) == set(CONFIG_FIELDS)
    base = TrainOptions(data=tmp_path, out=tmp_path / "r")
    default = config_from_options(base, "paired").to_dict()
    for name, value in changed.items():
        extra = {"encoder": "mobilenetv2"} if name.startswith(("encoder_", "freeze")) else {}
        got = config_from_options(replace(base, **extra, **{name: value}), "paired").to_dict()
        for target in CONFIG_FIELDS[name]:
            section, field = target.split(".")
            assert got[section][field] == value != default[section][field], target


def test_train_flags_default_to_the_options_defaults():
    """`edgeseg train --help` shows, and a flag left out uses, TrainOptions' own default."""
    import typer.main

    from edgeseg.cli import app
    from edgeseg.train.options import OPTION_DEFAULTS

    command = typer.main.get_command(app).commands["train"]
    flags = {p.name: p.default for p in command.params}
    shared = set(flags) & set(OPTION_DEFAULTS)
    assert {"arch", "epochs", "lr_schedule", "ema", "patience"} <= shared
    for name in shared:
        want = OPTION_DEFAULTS[name]
        got = flags[name]
        assert (str(got) if isinstance(want, Path) else got) == (
            str(want) if isinstance(want, Path) else want
        ), name
