"""edgeseg.edge_runtime.batch: the in-place batch-1 edit (LiteRT.js refuses a dynamic batch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeseg.edge_runtime.batch import has_dynamic_batch, static_batch
from edgeseg.edge_runtime.metadata import load_metadata, metadata_entries
from edgeseg.errors import ModelError

ROOT = Path(__file__).parents[1]
SHIPPED_MODEL = ROOT / "android_demo/app/src/main/assets/model_int8.tflite"
# Wave 1's demo model, exported before `edgeseg convert` fixed the batch at 1: a real int8 model
# with edgeseg metadata and a dynamic (-1) batch, as older exports have.
DEMO_MODEL = ROOT / "tests/data/dynamic_batch_int8.tflite"


@pytest.fixture(scope="module")
def demo_bytes() -> bytes:
    return DEMO_MODEL.read_bytes()


def test_the_shipped_demo_model_already_has_batch_one() -> None:
    data = SHIPPED_MODEL.read_bytes()
    assert not has_dynamic_batch(data)
    assert static_batch(data) is data
    assert all(sig[0] == 1 for sig in _signatures(SHIPPED_MODEL))


def _signatures(path: Path) -> list[list[int]]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(str(path))
    details = it.get_input_details() + it.get_output_details()
    return [[int(v) for v in d["shape_signature"]] for d in details]


def test_an_old_dynamic_model_is_edited_to_batch_one(demo_bytes, tmp_path) -> None:
    assert has_dynamic_batch(demo_bytes)
    fixed = static_batch(demo_bytes)
    assert not has_dynamic_batch(fixed)
    assert len(fixed) == len(demo_bytes)
    # Only int32 -1 -> 1 edits: every differing byte belongs to such a 4-byte word.
    diff = np.flatnonzero(np.frombuffer(fixed, np.uint8) != np.frombuffer(demo_bytes, np.uint8))
    assert diff.size > 0
    for pos in diff:
        word = pos - pos % 4
        assert demo_bytes[word : word + 4] == (-1).to_bytes(4, "little", signed=True)
        assert fixed[word : word + 4] == (1).to_bytes(4, "little")
    path = tmp_path / "b1.tflite"
    path.write_bytes(fixed)
    assert all(sig[0] == 1 for sig in _signatures(path))
    assert _signatures(DEMO_MODEL)[0][0] == -1
    # The metadata and the recorded weight digest still check out (load_metadata verifies it).
    assert metadata_entries(fixed).keys() == metadata_entries(demo_bytes).keys()
    assert load_metadata(path) == load_metadata(DEMO_MODEL)


def test_edited_model_gives_identical_masks(demo_bytes, tmp_path) -> None:
    from edgeseg.edge_runtime.segmenter import Segmenter
    from edgeseg.train.synth import synth_frame

    path = tmp_path / "b1.tflite"
    path.write_bytes(static_batch(demo_bytes))
    dynamic, fixed = Segmenter(DEMO_MODEL), Segmenter(path)
    rng = np.random.default_rng(5)
    areas = []
    for size in ((128, 128), (97, 131), (240, 320)):
        frame, _ = synth_frame(rng, size)
        a, b = dynamic.segment(frame), fixed.segment(frame)
        np.testing.assert_array_equal(a.prob, b.prob)
        np.testing.assert_array_equal(a.mask, b.mask)
        assert a.presence == b.presence
        areas.append(int(a.mask.sum()))
    assert max(areas) > 0  # the comparison covered real masks, not only empty ones


def test_static_model_is_returned_unchanged(demo_bytes) -> None:
    fixed = static_batch(demo_bytes)
    assert static_batch(fixed) is fixed


@pytest.mark.parametrize(
    "data, why",
    [(b"junk", "not a TFLite model"), (b"\xff\xff\x00\x00TFL3" + b"\x00" * 8, "corrupt")],
)
def test_bad_files_are_one_model_error(data: bytes, why: str) -> None:
    with pytest.raises(ModelError, match=why):
        static_batch(data)


@pytest.mark.slow
def test_convert_exports_a_batch_one_model(tiny_run: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from edgeseg.convert.tflite import export

    result = export(tiny_run, "int8", out=tmp_path / "m.tflite")
    data = result.path.read_bytes()
    assert not has_dynamic_batch(data)
    assert all(sig[0] == 1 for sig in _signatures(result.path))
    assert load_metadata(result.path) is not None  # weight digest recorded after the edit
