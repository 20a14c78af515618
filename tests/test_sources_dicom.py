"""DICOM frame source: every covered transfer syntax decodes exactly as pydicom's pixel_array;
bad files are one-line errors that never carry a header value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeseg.contract import FrameContract
from edgeseg.edge_runtime.sources import open_source
from edgeseg.errors import DataError, DependencyError, EdgesegError

pydicom = pytest.importorskip("pydicom")
pytest.importorskip("pylibjpeg")

from edgeseg.train.cine_dicom import write_dicom  # noqa: E402
from edgeseg.train.cine_writers import PHI_TEST_IDENTIFIERS  # noqa: E402

FPS = 20.0


@pytest.fixture(scope="module")
def gray():
    from edgeseg.train.cine import synth_cine

    return synth_cine(6, (40, 48), seed=5, fps=FPS).frames


@pytest.fixture(scope="module")
def rgb(gray):
    out = np.stack([gray, gray, gray], axis=-1)
    out[..., 0] = 255 - out[..., 0]  # real colour, so a colour-space slip shows
    out[..., 2] //= 2
    return out


def _decode(path: Path) -> tuple[np.ndarray, object]:
    with open_source(path) as src:
        frames = list(src)
    assert [f.index for f in frames] == list(range(src.frame_count))
    return np.stack([f.image for f in frames]), src


CASES = [  # (syntax, photometric, colour, 16-bit)
    ("uncompressed", "MONOCHROME2", False, False),
    ("rle", "MONOCHROME2", False, False),
    ("jpeg", "MONOCHROME2", False, False),
    ("uncompressed", "RGB", True, False),
    ("uncompressed", "YBR_FULL", True, False),
    ("rle", "RGB", True, False),
    ("rle", "YBR_FULL", True, False),
    ("jpeg", "YBR_FULL_422", True, False),
    ("uncompressed", "MONOCHROME2", False, True),
    ("rle", "MONOCHROME2", False, True),
]


@pytest.mark.parametrize(("syntax", "photometric", "colour", "wide"), CASES)
def test_decoding_matches_pixel_array(tmp_path, gray, rgb, syntax, photometric, colour, wide):
    frames = rgb if colour else gray
    if wide:
        frames = (frames.astype(np.uint16) * 257 + 3).astype(np.uint16)
    path = write_dicom(frames, tmp_path / "cine.dcm", FPS, syntax, photometric)
    got, src = _decode(path)
    ds = pydicom.dcmread(path)
    assert ds.PhotometricInterpretation == photometric
    np.testing.assert_array_equal(got, ds.pixel_array)  # exactly pydicom's reference decode
    assert got.dtype == (np.uint16 if wide else np.uint8)
    assert (src.frame_count, src.frame_rate) == (6, pytest.approx(FPS, rel=1e-4))
    if syntax != "jpeg":  # lossless: the phantom's own pixels come back
        if photometric == "YBR_FULL":
            assert np.abs(got.astype(int) - frames).max() <= 2  # RGB -> YBR -> RGB rounding
        else:
            np.testing.assert_array_equal(got, frames)
    # 16-bit and 3-channel frames are what the contract takes: model-size uint8 gray
    prepared = FrameContract.default((32, 32)).prepare(got[0])
    assert prepared.shape == (32, 32) and prepared.dtype == np.uint8


def test_implicit_vr_little_endian(tmp_path, gray):
    path = _edit(
        write_dicom(gray, tmp_path / "i.dcm", FPS),
        TransferSyntaxUID=pydicom.uid.ImplicitVRLittleEndian,
    )
    got, _ = _decode(path)
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ImplicitVRLittleEndian
    np.testing.assert_array_equal(got, ds.pixel_array)
    np.testing.assert_array_equal(got, gray)


def test_single_frame_without_number_of_frames(tmp_path, gray):
    path = write_dicom(gray[:1], tmp_path / "one.dcm", FPS)
    ds = pydicom.dcmread(path)
    del ds.NumberOfFrames
    ds.save_as(path, enforce_file_format=True)
    got, src = _decode(path)
    assert src.frame_count == 1
    np.testing.assert_array_equal(got[0], ds.pixel_array)


def test_dicom_found_by_magic_whatever_the_suffix(tmp_path, gray):
    path = write_dicom(gray, tmp_path / "cine.dcm", FPS)
    disguised = path.rename(tmp_path / "export.mp4")
    assert type(open_source(disguised)).__name__ == "DicomSource"


def test_frame_time_sources(tmp_path, gray):
    path = write_dicom(gray, tmp_path / "t.dcm", FPS)
    ds = pydicom.dcmread(path)
    ds.FrameTimeVector = ["0", "50", "50", "100", "50", "50"]
    del ds.FrameTime
    ds.save_as(path, enforce_file_format=True)
    _, src = _decode(path)
    assert [f.timestamp_s for f in open_source(path)] == pytest.approx(
        [0, 0.05, 0.1, 0.2, 0.25, 0.3]
    )
    assert src.variable_rate and any("variable frame rate" in n for n in src.notes)
    del ds.FrameTimeVector
    ds.CineRate = 12
    del ds.RecommendedDisplayFrameRate
    ds.save_as(path, enforce_file_format=True)
    assert open_source(path).frame_rate == 12.0
    del ds.CineRate
    ds.save_as(path, enforce_file_format=True)
    src = open_source(path)
    assert src.frame_rate is None and [f.timestamp_s for f in src] == [0, 1, 2, 3, 4, 5]


# ----------------------------------------------------------------------------- no identifiers


def _values() -> list[str]:
    return list(PHI_TEST_IDENTIFIERS.values()) + ["Phitest", "Zelmira", "Quill"]


def test_name_and_notes_carry_no_identifiers(tmp_path, gray):
    path = write_dicom(
        gray, tmp_path / "p.dcm", FPS, identifiers=PHI_TEST_IDENTIFIERS, burned_in_annotation=True
    )
    ds = pydicom.dcmread(path)
    assert str(ds.PatientName) == PHI_TEST_IDENTIFIERS["PatientName"]  # the test file has them
    with open_source(path) as src:
        frames = list(src)
    text = " ".join([src.name, repr(src), *src.notes, *(f.source for f in frames)])
    assert src.name.startswith("dicom-") and len(src.name) == len("dicom-") + 12
    assert any("BurnedInAnnotation is YES" in n for n in src.notes)
    for value in _values():
        assert value not in text


def test_name_is_stable_hash(tmp_path, gray):
    a = write_dicom(gray, tmp_path / "a.dcm", FPS)
    b = tmp_path / "b.dcm"
    b.write_bytes(a.read_bytes())
    c = write_dicom(gray, tmp_path / "c.dcm", FPS)  # a new SOPInstanceUID
    assert open_source(a).name == open_source(b).name != open_source(c).name


# ----------------------------------------------------------------------------- bad files


def _edit(path: Path, **changes) -> Path:
    ds = pydicom.dcmread(path)
    for key, value in changes.items():
        if key == "TransferSyntaxUID":
            ds.file_meta.TransferSyntaxUID = value
        elif value is None:
            delattr(ds, key)
        else:
            setattr(ds, key, value)
    ds.save_as(path, enforce_file_format=True)
    return path


def _one_line_error(
    path: Path, kind: type[EdgesegError] = DataError, match: str | None = None
) -> str:
    with pytest.raises(kind, match=match) as err, open_source(path) as src:
        list(src)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    for value in _values():
        assert value not in message
    return message


@pytest.fixture
def phi_cine(tmp_path, gray) -> Path:
    return write_dicom(gray, tmp_path / "bad.dcm", FPS, identifiers=PHI_TEST_IDENTIFIERS)


def test_not_a_dicom(tmp_path):
    path = tmp_path / "x.dcm"
    path.write_bytes(b"hello, not a DICOM file" * 20)
    _one_line_error(path, match="not a DICOM file")


def test_no_pixel_data(phi_cine):
    _one_line_error(_edit(phi_cine, PixelData=None), match="no Pixel Data")


def test_zero_frames(phi_cine):
    _one_line_error(_edit(phi_cine, NumberOfFrames=0), match="0 frames")


def test_damaged_jpeg_frame_after_good_frames(tmp_path, gray):
    path = write_dicom(gray, tmp_path / "j.dcm", FPS, "jpeg", identifiers=PHI_TEST_IDENTIFIERS)
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 2) if data[i : i + 3] == b"\xff\xd8\xff"]
    data[starts[2] : starts[2] + 300] = bytes(300)  # frame 3's JPEG header destroyed
    path.write_bytes(bytes(data))
    got = []
    with pytest.raises(DataError, match="frame 3 of 6 cannot be decoded") as err:
        got.extend(open_source(path))
    assert len(got) == 2 and "\n" not in str(err.value)


def test_jpeg2000_without_its_plugin(tmp_path, gray, monkeypatch):
    import pydicom.pixels

    class NoPlugin:
        is_available = False
        missing_dependencies = ["pylibjpeg - requires pylibjpeg>=2.0 and pylibjpeg-openjpeg>=2.0"]

    path = write_dicom(gray, tmp_path / "j2k.dcm", FPS, "jpeg", identifiers=PHI_TEST_IDENTIFIERS)
    _edit(path, TransferSyntaxUID=pydicom.uid.JPEG2000Lossless)
    monkeypatch.setattr(pydicom.pixels, "get_decoder", lambda uid: NoPlugin())
    message = _one_line_error(path, DependencyError, match="needs a decoder")
    assert "pylibjpeg-openjpeg" in message and "JPEG 2000" in message


def test_unknown_transfer_syntax(phi_cine):
    _one_line_error(_edit(phi_cine, TransferSyntaxUID="1.2.3.4.5.6"), match="not supported")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"BitsStored": 12, "HighBit": 11}, "12-bit pixels stored in 16 bits"),
        ({"PixelRepresentation": 1}, "signed"),
        ({"PhotometricInterpretation": "MONOCHROME1"}, "MONOCHROME1"),
        ({"PhotometricInterpretation": "PALETTE COLOR"}, "PALETTE COLOR"),
        ({"SamplesPerPixel": 3}, "3 samples per pixel"),
    ],
)
def test_unsupported_pixel_modules(tmp_path, gray, changes, match):
    wide = (gray.astype(np.uint16) * 16).astype(np.uint16)
    path = write_dicom(wide, tmp_path / "w.dcm", FPS, identifiers=PHI_TEST_IDENTIFIERS)
    _one_line_error(_edit(path, **changes), match=match)


def test_truncated_pixel_data(phi_cine):
    data = phi_cine.read_bytes()
    phi_cine.write_bytes(data[: len(data) - 3000])
    _one_line_error(phi_cine)


def test_truncated_rle(tmp_path, gray):
    path = write_dicom(gray, tmp_path / "r.dcm", FPS, "rle", identifiers=PHI_TEST_IDENTIFIERS)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    _one_line_error(path)


def test_pydicom_warnings_never_reach_the_user(tmp_path, gray, recwarn):
    odd = dict(PHI_TEST_IDENTIFIERS, PatientBirthDate="1937-04-12 (approx)")  # invalid DA
    path = write_dicom(gray, tmp_path / "w.dcm", FPS, identifiers=odd)
    recwarn.clear()  # pydicom warns when the test writes the odd date; reading must not
    with open_source(path) as src:
        assert len(list(src)) == 6
    assert not [w for w in recwarn if "pydicom" in w.filename]


def test_pillow_plugin_is_close_to_the_default(tmp_path, gray, rgb):
    from edgeseg.edge_runtime.sources.dicom import DicomSource

    for frames in (gray, rgb):
        path = write_dicom(frames, tmp_path / "j.dcm", FPS, "jpeg")
        default = np.stack([f.image for f in DicomSource(path)])
        fast = np.stack([f.image for f in DicomSource(path, decoding_plugin="pillow")])
        np.testing.assert_array_equal(
            fast, pydicom.pixels.pixel_array(path, decoding_plugin="pillow")
        )
        diff = np.abs(fast.astype(int) - default)
        # measured: gray frames within 1 level, colour within 7 (chroma upsampling differs)
        assert diff.mean() < 1.0 and diff.max() <= (8 if frames.ndim == 4 else 2)


def test_folder_of_single_frame_files_in_instance_order(tmp_path, gray):
    folder = tmp_path / "Phitest^Zelmira^Quill"  # export folders are often named after patients
    folder.mkdir()
    for i in range(3):  # file names in the reverse of the instance order
        path = write_dicom(
            gray[i : i + 1], folder / f"IM{3 - i}", FPS, identifiers=PHI_TEST_IDENTIFIERS
        )
        _edit(path, InstanceNumber=i + 1)
    (folder / "IM1").rename(folder / "IM1.dcm")  # with or without the suffix
    src = open_source(folder)
    assert type(src).__name__ == "DicomSeriesSource" and src.name.startswith("dicom-")
    frames = _frames(src)
    np.testing.assert_array_equal(np.stack([f.image for f in frames]), gray[:3])
    assert [f.index for f in frames] == [0, 1, 2]
    assert src.frame_rate == pytest.approx(FPS, rel=1e-4)
    text = " ".join([src.name, repr(src), *src.notes, *(f.source for f in frames)])
    for value in _values():
        assert value not in text


def _frames(src):
    with src:
        return list(src)
