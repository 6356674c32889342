"""ONNX export of RTS's network parts and the onnxruntime backend (issue 21, docs/export.md).

One export of a randomly initialised rts_small-architecture network is shared by the module (the
``torch.export``-based exporter takes tens of seconds for the seven graphs on a shared 2-core machine).
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ltr_ext.admin import export_onnx
from ltr_ext.admin.checkpoint import save_checkpoint
from ltr_ext.models.rts.rts_net import build_rts_small
from parameter.rts.rts_small import SAMPLE_SIZE
from pytracking_ext.errors import PytrackingError
from pytracking_ext.evaluation import network_loading
from pytracking_ext.trackers import get_parameters, get_tracker_class
from pytracking_ext.trackers.rts import onnx_backend
from pytracking_ext.trackers.rts.tracker import RTS
from pytracking_ext.utils.io import imread_rgb
from script_loading import load_script
from seqgen import moving_square_sequence

for _module, _why in (("onnxruntime", "runs the exported graphs"), ("onnx", "export"), ("onnxscript", "export")):
    pytest.importorskip(_module, reason=f"{_module} is not installed ({_why}; pip install 'pytracking-ext[onnx]')")

FRAMES = 5


@pytest.fixture(scope="module")
def network_file(tmp_path_factory):
    """A randomly initialised (seeded) rts_small network saved as a safetensors file."""
    torch.manual_seed(0)
    net = build_rts_small()
    path = tmp_path_factory.mktemp("net") / "rts_small_random.safetensors"
    save_checkpoint(path, {"net": net.state_dict(), "constructor": net.constructor.to_dict()})
    return path


@pytest.fixture(scope="module")
def exported(network_file, tmp_path_factory, one_torch_thread):
    """``python -m ltr_ext.admin.export_onnx rts_small OUT --net FILE``, run in-process."""
    out = tmp_path_factory.mktemp("onnx")
    assert export_onnx.main(["rts_small", str(out), "--net", str(network_file)]) == 0
    return out


@pytest.fixture
def backend_hook(monkeypatch):
    """The one hook tracker.py needs, applied from outside: ``apply_backend`` after the network is loaded."""
    original = RTS.initialize_features

    def initialize_features(self):
        fresh = self.net is None
        original(self)
        if fresh and not isinstance(self.net, onnx_backend.OnnxRTSNet):  # unless tracker.py applies it itself
            self.net = onnx_backend.apply_backend(self.net, self.params)

    monkeypatch.setattr(RTS, "initialize_features", initialize_features)


def _params(network_file, backend="torch", **extra):
    params = get_parameters("rts", "rts_small")
    params.net.path = str(network_file)
    params.use_gpu = False
    params.backend = backend
    for key, value in extra.items():
        setattr(params, key, value)
    return params


def _plain_net(network_file):
    spec = _params(network_file).net
    spec.cpu_inference, spec.channels_last = False, False
    return network_loading.read_network(spec, "cpu")


def test_export_writes_every_part_and_a_manifest_keyed_on_the_network_hash(exported, network_file):
    manifest = json.loads((exported / "manifest.json").read_text())
    assert set(manifest["parts"]) == {part.name for part in export_onnx.RTS_PARTS}
    assert all((exported / entry["file"]).is_file() for entry in manifest["parts"].values())
    assert manifest["network_sha256"] == export_onnx.file_sha256(network_file)
    assert manifest["sample_size"] == list(SAMPLE_SIZE)


def test_onnxruntime_outputs_equal_torch_for_every_part(exported, network_file):
    import onnxruntime as ort

    net = _plain_net(network_file)
    examples = export_onnx.rts_examples(net, SAMPLE_SIZE)
    for part in export_onnx.RTS_PARTS:
        session = ort.InferenceSession(str(exported / f"{part.name}.onnx"), providers=["CPUExecutionProvider"])
        # batched inputs once at the traced batch and once at another (the free batch dimension)
        for batch in (None, 1) if part.batched else (None,):
            args = [examples[n][:batch] if n in part.batched and batch else examples[n] for n in part.inputs]
            with torch.no_grad():
                expected = part.build(net, SAMPLE_SIZE).eval()(*args)
            expected = expected if isinstance(expected, tuple) else (expected,)
            got = session.run(None, {n: a.contiguous().numpy() for n, a in zip(part.inputs, args)})
            for name, e, g in zip(part.outputs, expected, got):
                assert g.shape == tuple(e.shape), (part.name, name)
                scale = float(e.abs().max()) + 1.0
                assert np.abs(g - e.numpy()).max() <= 1e-4 * scale, (part.name, name)


def test_tracker_with_the_onnx_backend_gives_the_torch_boxes_and_masks(
    exported, network_file, backend_hook, tmp_path, monkeypatch
):
    seq = moving_square_sequence(tmp_path, frames=FRAMES, size=(240, 320), with_masks=True)
    images, info = [imread_rgb(p) for p in seq.frames], seq.frame_info(0)
    runs = {}
    for backend in ("torch", "onnx"):
        monkeypatch.setattr(network_loading, "_CACHE", {})
        tracker = get_tracker_class("rts")(_params(network_file, backend, onnx_dir=str(exported)))
        out = tracker.initialize(images[0], info)
        outs = []
        for image in images[1:]:
            out = tracker.track(image, {"previous_output": out})
            outs.append(out)
        runs[backend] = (tracker, outs)
    assert isinstance(runs["onnx"][0].net, onnx_backend.OnnxRTSNet)
    # not a vacuous comparison: the (random) network segments part of each frame
    assert all(0 < out["segmentation"].sum() < out["segmentation"].size for out in runs["torch"][1])
    for torch_out, onnx_out in zip(runs["torch"][1], runs["onnx"][1]):
        assert np.abs(np.subtract(torch_out["target_bbox"], onnx_out["target_bbox"])).max() <= 1.0
        assert np.mean(torch_out["segmentation"] != onnx_out["segmentation"]) <= 0.001
        np.testing.assert_allclose(onnx_out["segmentation_raw"], torch_out["segmentation_raw"], atol=1e-3)


def test_without_onnx_dir_the_graphs_are_exported_once_into_the_cache_keyed_on_the_network_hash(
    exported, network_file, tmp_path, monkeypatch
):
    monkeypatch.setenv("PYTRACKING_CACHE_DIR", str(tmp_path / "cache"))
    calls = []

    def copy_export(net, target, sample_size, out_dir, sha256, source):  # the real export is the fixture's
        calls.append(sha256)
        shutil.copytree(exported, out_dir, dirs_exist_ok=True)

    monkeypatch.setattr(onnx_backend, "export_network", copy_export)
    params = _params(network_file, "onnx")
    first = onnx_backend.onnx_folder(params)
    assert onnx_backend.onnx_folder(params) == first
    digest = export_onnx.file_sha256(network_file)
    assert calls == [digest]
    assert first == tmp_path / "cache" / "onnx" / f"{digest}_{SAMPLE_SIZE[0]}x{SAMPLE_SIZE[1]}"
    # exported into a temporary sibling and renamed: nothing else is left in the cache folder
    assert sorted(p.name for p in first.parent.iterdir()) == [first.name]


def test_an_export_of_another_network_is_refused_in_one_line(exported, network_file, tmp_path):
    folder = tmp_path / "other"
    shutil.copytree(exported, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["network_sha256"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(onnx_backend.OnnxBackendError, match="another network file") as err:
        onnx_backend.onnx_folder(_params(network_file, "onnx", onnx_dir=str(folder)))
    assert "\n" not in str(err.value)


def test_a_folder_without_an_export_is_refused_in_one_line(network_file, tmp_path):
    with pytest.raises(export_onnx.OnnxExportError, match="no ONNX export here") as err:
        onnx_backend.onnx_folder(_params(network_file, "onnx", onnx_dir=str(tmp_path)))
    assert "\n" not in str(err.value)


def test_an_unknown_backend_is_a_one_line_error(network_file):
    with pytest.raises(PytrackingError, match="unknown backend 'tensorrt'.*choose from \\['onnx', 'torch'\\]"):
        onnx_backend.apply_backend(torch.nn.Linear(1, 1), _params(network_file, "tensorrt"))


def test_the_torch_backend_returns_the_network_itself(network_file):
    net = torch.nn.Linear(1, 1)
    assert onnx_backend.apply_backend(net, _params(network_file)) is net


def test_bf16_precision_with_the_onnx_backend_is_refused(network_file, monkeypatch):
    params = _params(network_file, "onnx")
    monkeypatch.setattr(type(params.net), "dtype", lambda self, device: torch.bfloat16)
    with pytest.raises(onnx_backend.OnnxBackendError, match="runs fp32"):
        onnx_backend.apply_backend(torch.nn.Linear(1, 1), params)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rts_big", "{out}"], "unknown exportable network 'rts_big'; known: rts_small"),
        (["rts_small", "{out}", "--net", "{tmp}/missing.safetensors"], "missing.safetensors: network file not found"),
        (["rts_small", "{tmp}/a_file"], "a_file: OUT_DIR exists and is not a folder"),
    ],
)
def test_bad_export_arguments_are_one_line_errors(argv, message, tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    argv = [a.format(out=tmp_path / "out", tmp=tmp_path) for a in argv]
    assert export_onnx.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_parity_benchmark_prints_each_frames_box_and_pixel_differences():
    parity = load_script(Path(__file__).resolve().parents[1] / "benchmarks" / "onnx_parity.py", "onnx_parity")
    same = np.zeros((4, 4), bool)
    moved = same.copy()
    moved[0, :3] = True
    line = parity.per_frame_line("clip", np.array([0.0, 1.0]), [same, same, same], [same, same, moved])
    assert line == "clip: frame 1 0.0 px 0, frame 2 1.0 px 3"


def test_parity_benchmark_marks_the_frames_whose_crops_differ():
    parity = load_script(Path(__file__).resolve().parents[1] / "benchmarks" / "onnx_parity.py", "onnx_parity")
    crops = parity.crop_differences([None, [0, 0, 10, 10], [-5, 0, 10, 10]], [None, [0, 0, 10, 10], [-4, 0, 10, 10]])
    assert crops.tolist() == [0.0, 1.0]
    same = np.zeros((4, 4), bool)
    line = parity.per_frame_line("clip", np.array([0.0, 2.0]), [same] * 3, [same] * 3, crops)
    assert line == "clip: frame 1 0.0 px 0, frame 2 2.0 px 0 crop 1 px"


def test_parity_benchmark_summarises_boxes_on_moved_and_unmoved_crops():
    parity = load_script(Path(__file__).resolve().parents[1] / "benchmarks" / "onnx_parity.py", "onnx_parity")
    d = np.array([0.0, 3.0, 1.0, 0.0])
    moved = np.array([False, True, True, False])
    assert parity.crop_summary(moved, d) == (
        "frames whose crop differs between the backends: 2 of 4; "
        "boxes within 1 px on 50.0 % of them and on 100.0 % of the others"
    )
    assert parity.crop_summary(np.zeros(4, bool), d) == (
        "frames whose crop differs between the backends: 0 of 4; boxes within 1 px on 75.0 % of the frames"
    )
