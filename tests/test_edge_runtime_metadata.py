"""edgeseg.edge_runtime.metadata: the payload in and out of .tflite files, round trip, bad files."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from edgeseg.config import Preprocessing, RunConfig
from edgeseg.contract import SCHEMA, FrameContract
from edgeseg.edge_runtime.metadata import (
    load_metadata,
    metadata_entries,
    read_metadata,
    write_metadata,
)
from edgeseg.errors import DependencyError, ModelError


@pytest.fixture(scope="module")
def models(tiny_tflite: dict[str, Path]) -> dict[str, Path]:
    return tiny_tflite


# --------------------------------------------------------------------------- files


def test_round_trip_keeps_the_model_and_other_entries(models: dict[str, Path]) -> None:
    from ai_edge_litert.interpreter import Interpreter

    plain, tagged = models["plain_i8"], models["i8"]
    assert read_metadata(plain) is None
    assert load_metadata(plain) is None
    cfg = RunConfig(preprocessing=Preprocessing(height=32, width=32))
    contract = FrameContract.from_run_config(cfg, "int8", presence_output=True)
    assert read_metadata(tagged) == contract.to_dict()
    assert load_metadata(tagged) == contract
    before = metadata_entries(plain.read_bytes())
    after = metadata_entries(tagged.read_bytes())
    assert set(after) == set(before) | {"edgeseg"}
    assert all(after[name] == before[name] for name in before)

    frame = (np.arange(32 * 32).reshape(1, 32, 32, 1) * 7 % 256).astype(np.uint8)
    outputs = []
    for path in (plain, tagged):
        it = Interpreter(model_path=str(path))
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], frame)
        it.invoke()
        outputs.append([it.get_tensor(d["index"]) for d in it.get_output_details()])
    for a, b in zip(*outputs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_rewrite_replaces_the_entry(models: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "m.tflite"
    target.write_bytes(models["f32"].read_bytes())
    size = target.stat().st_size
    meta = {**read_metadata(target), "arch": "unet"}
    write_metadata(target, meta)
    assert read_metadata(target)["arch"] == "unet"
    names = list(metadata_entries(target.read_bytes()))
    assert names.count("edgeseg") == 1
    assert abs(target.stat().st_size - size) < 64
    assert [p.name for p in tmp_path.iterdir()] == ["m.tflite"]  # no temp file left


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        (b"", "not a TFLite model"),
        (b"\x00" * 64, "not a TFLite model"),
        (b"GIF89a" + b"\x00" * 100, "not a TFLite model"),
        (b"\x10\x00\x00\x00TFL3" + b"\xff" * 24, "corrupt"),
    ],
)
def test_bad_files_are_one_line_model_errors(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "bad.tflite"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=message) as info:
        read_metadata(path)
    assert "\n" not in str(info.value)


def test_a_folder_is_not_a_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="is a folder, expected a .tflite file") as info:
        read_metadata(tmp_path)
    assert "not found" not in str(info.value)


def test_truncated_model_is_a_model_error(models: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "cut.tflite"
    path.write_bytes(models["i8"].read_bytes()[:4000])
    with pytest.raises(ModelError, match="corrupt"):
        read_metadata(path)


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "junk.tflite"
    src.write_bytes(b"junk" * 10)
    out = tmp_path / "out" / "m.tflite"
    with pytest.raises(ModelError):
        write_metadata(src, {"schema": SCHEMA}, out_path=out)
    assert not out.exists()
    assert src.read_bytes() == b"junk" * 10


def test_writer_without_flatbuffers_is_a_dependency_error(
    models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "flatbuffers", None)
    with pytest.raises(DependencyError, match="ai-edge-litert"):
        write_metadata(models["plain_f32"], {"schema": SCHEMA}, out_path=tmp_path / "m.tflite")
