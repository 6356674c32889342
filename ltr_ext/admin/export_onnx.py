"""Export the network parts of a tracker's per-frame path to ONNX:
``python -m ltr_ext.admin.export_onnx NAME OUT_DIR [--net FILE]``.

``NAME`` is a parameter set registered in :data:`EXPORTABLE` (``rts_small``); ``--net`` exports
another weights file of that architecture (default: the parameter set's own). ``OUT_DIR`` receives
one ``.onnx`` file per part and ``manifest.json`` (the network file's sha256, the crop size, each
part's inputs and outputs), every file written atomically, the manifest last. Which parts are
exported and why the learners stay in PyTorch: docs/export.md. The parts are traced from the plain
network (no CPU inference copy: its prepacked oneDNN convolutions are not exportable operators)
with PyTorch's ``torch.export``-based exporter (``dynamo=True``, needs ``onnxscript``), the one
PyTorch maintains; the TorchScript exporter is deprecated since PyTorch 2.9 (docs/export.md B).
Shapes are fixed to the parameter set's crop size except the batch, which is free where the
tracker batches (init augmentations, re-detection tiles, memory samples).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import io
import json
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from pytracking_ext.errors import PytrackingError
from pytracking_ext.utils.io import atomic_write_bytes, atomic_write_text

from .checkpoint import CheckpointError
from .loading import StateDictMismatch
from .model_constructor import ConstructorRecordError

#: version of the folder layout written here (``manifest.json``'s ``format``)
FORMAT = 1
MANIFEST = "manifest.json"
OPSET = 18
LAYERS = ("layer1", "layer2", "layer3", "layer4")


class OnnxExportError(PytrackingError):
    """An export cannot run or an exported folder does not fit (one line naming the file or argument)."""


# ----- the exported parts of RTS (docs/export.md A) ----------------------------------------------------------
class _Backbone(nn.Module):
    """Normalised crops ``(n, 3, H, W)`` -> the backbone maps ``layers`` (it stops after the deepest)."""

    def __init__(self, net: nn.Module, layers: tuple[str, ...]) -> None:
        super().__init__()
        self.net, self.layers = net, layers

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        maps = self.net.extract_backbone_features(image, list(self.layers))
        return tuple(maps[name] for name in self.layers)


class _Method(nn.Module):
    """One single-tensor method of the network (the branches' feature convolutions)."""

    def __init__(self, net: nn.Module, method: str) -> None:
        super().__init__()
        self.net, self.method = net, method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.net, self.method)(x)


class _MaskEncoder(nn.Module):
    """A mask encoder on ``(n, 1, H, W)`` maps (n frames of one sequence) -> ``(n, 16, h, w)`` maps."""

    def __init__(self, encoder: nn.Module, with_weights: bool) -> None:
        super().__init__()
        self.encoder, self.with_weights = encoder, with_weights

    def forward(self, maps: torch.Tensor):
        out = self.encoder(maps, with_weights=self.with_weights)
        return (out[0][:, 0], out[1][:, 0]) if self.with_weights else out[:, 0]


class _Segment(nn.Module):
    """``segment_target`` of one frame: the filter tau applied to the features, the encoded
    instance scores added, the decoder run on the backbone maps -> mask logits at crop size."""

    def __init__(self, net: nn.Module, image_size: tuple[int, int]) -> None:
        super().__init__()
        self.net, self.image_size = net, image_size

    def forward(self, tau, features, encoded_scores, layer1, layer2, layer3, layer4):
        maps = dict(zip(LAYERS, (layer1, layer2, layer3, layer4)))
        logits, fused = self.net.segment_target(tau, features[:, None], maps, encoded_scores[:, None], self.image_size)
        return logits, fused[:, 0]


@dataclass(frozen=True)
class Part:
    """One exported graph: how to wrap the network, its inputs (by example name) and outputs."""

    name: str
    build: Callable[[nn.Module, tuple[int, int]], nn.Module]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    #: inputs whose first dimension (the batch) is free
    batched: tuple[str, ...] = ()


RTS_PARTS: tuple[Part, ...] = (
    Part("backbone", lambda net, size: _Backbone(net, LAYERS), ("image",), LAYERS, ("image",)),
    Part("backbone_layer3", lambda net, size: _Backbone(net, ("layer3",)), ("image",), ("layer3",), ("image",)),
    Part(
        "target_features",
        lambda net, size: _Method(net, "extract_target_model_features"),
        ("layer3",),
        ("features",),
        ("layer3",),
    ),
    Part(
        "clf_features",
        lambda net, size: _Method(net, "extract_classification_feat"),
        ("layer3",),
        ("features",),
        ("layer3",),
    ),
    Part(
        "label_encoder",
        lambda net, size: _MaskEncoder(net.label_encoder, True),
        ("mask",),
        ("encoding", "weights"),
        ("mask",),
    ),
    Part(
        "clf_encoder",
        lambda net, size: _MaskEncoder(net.clf_encoder, False),
        ("clf_scores",),
        ("encoding",),
        ("clf_scores",),
    ),
    Part(
        "segment",
        _Segment,
        ("tau", "target_features", "encoded_scores", *LAYERS),
        ("logits", "fused"),
    ),
)


def rts_examples(net: nn.Module, sample_size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Example inputs of every RTS part at crop size ``sample_size`` (h, w), from the network itself."""
    generator = torch.Generator().manual_seed(0)
    h, w = sample_size
    with torch.no_grad():
        image = torch.randn(2, 3, h, w, generator=generator)
        maps = net.extract_backbone_features(image[:1], list(LAYERS))
        x_s = net.extract_target_model_features(maps["layer3"])
        x_c = net.extract_classification_feat(maps["layer3"])
        k_c = net.classifier.filter_initializer.filter_size
        kappa = torch.randn(1, x_c.shape[1], k_c, k_c, generator=generator)
        clf_scores = net.classify(kappa, x_c[:, None])
        encoded = net.clf_encoder(clf_scores, with_weights=False)[:, 0]
        k_s = net.target_model.filter_size
        tau = torch.randn(1, encoded.shape[1], x_s.shape[1], k_s, k_s, generator=generator)
    return {
        "image": image,
        "layer3": torch.cat([maps["layer3"]] * 2),
        "mask": torch.rand(2, 1, h, w, generator=generator),
        "clf_scores": torch.cat([clf_scores] * 2),
        "tau": tau,
        "target_features": x_s,
        "encoded_scores": encoded,
        **maps,
    }


# ----- registry: parameter set -> what to export ----------------------------------------------------------
@dataclass(frozen=True)
class Exportable:
    """A network that can be exported: its tracker and parameter set, its parts and example inputs."""

    tracker: str
    parameter_set: str
    parts: tuple[Part, ...]
    examples: Callable[[nn.Module, tuple[int, int]], dict[str, torch.Tensor]]


#: parameter-set name -> what ``export_onnx NAME`` exports (docs/export.md A)
EXPORTABLE: dict[str, Exportable] = {
    "rts_small": Exportable("rts", "rts_small", RTS_PARTS, rts_examples),
}


def exportable(name: str) -> Exportable:
    """The registered export of ``name``; an unknown name is a one-line error listing the known ones."""
    if name not in EXPORTABLE:
        raise OnnxExportError(f"unknown exportable network '{name}'; known: {', '.join(sorted(EXPORTABLE))}")
    return EXPORTABLE[name]


# ----- export ------------------------------------------------------------------------------------------------
def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes (the key of an export: a changed network file needs a new one)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _require_exporter() -> None:
    missing = [name for name in ("onnx", "onnxscript") if not _importable(name)]
    if missing:
        raise OnnxExportError(
            f"ONNX export needs {' and '.join(missing)}: pip install 'pytracking-ext[onnx]' (docs/export.md)"
        )


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _export_part(part: Part, net: nn.Module, sample_size: tuple[int, int], examples: dict[str, torch.Tensor]) -> bytes:
    """The serialised ONNX model of one part (``torch.export``-based exporter, fp32)."""
    module = part.build(net, sample_size).eval()
    args = tuple(examples[name] for name in part.inputs)
    batch = torch.export.Dim("batch", min=1, max=1024)
    dynamic = tuple({0: batch} if name in part.batched else None for name in part.inputs)
    # no_grad: trace the inference forms (closed-form bicubic kernels, see ltr_ext/models/rts/bicubic2x.py).
    # The exporter prints its progress and warns about decompositions; only a failure matters here.
    log = io.StringIO()
    try:
        with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(log):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                module,
                args,
                dynamo=True,
                input_names=list(part.inputs),
                output_names=list(part.outputs),
                dynamic_shapes=dynamic if part.batched else None,
                opset_version=OPSET,
                external_data=False,
                verbose=False,
            )
    except Exception as err:  # the exporter raises many kinds: one line naming the part, the cause chained
        first = (str(err).strip().splitlines() or [""])[0]
        raise OnnxExportError(f"part '{part.name}': ONNX export failed ({type(err).__name__}: {first})") from err
    return program.model_proto.SerializeToString()


def export_network(
    net: nn.Module,
    target: Exportable,
    sample_size: tuple[int, int],
    out_dir: str | Path,
    network_sha256: str,
    source: str = "",
) -> Path:
    """Export ``target``'s parts of the plain fp32 ``net`` (on the CPU) to ``out_dir``; returns the manifest path.

    Each part's file is written atomically and the manifest last, so a folder with a manifest is complete;
    files in ``out_dir`` other than the parts and the manifest are left alone.
    """
    _require_exporter()
    out_dir = Path(out_dir)
    sample_size = (int(sample_size[0]), int(sample_size[1]))
    net = net.float().cpu().eval()
    examples = target.examples(net, sample_size)
    # an earlier export's manifest goes first: while the parts are rewritten the folder reads as incomplete
    (out_dir / MANIFEST).unlink(missing_ok=True)
    parts: dict[str, Any] = {}
    for part in target.parts:
        data = _export_part(part, net, sample_size, examples)
        atomic_write_bytes(out_dir / f"{part.name}.onnx", data)
        parts[part.name] = {"file": f"{part.name}.onnx", "inputs": list(part.inputs), "outputs": list(part.outputs)}
    manifest = {
        "format": FORMAT,
        "tracker": target.tracker,
        "parameter_set": target.parameter_set,
        "network_sha256": network_sha256,
        "network_source": source,
        "sample_size": list(sample_size),
        "opset": OPSET,
        "torch": torch.__version__,
        "parts": parts,
    }
    path = out_dir / MANIFEST
    atomic_write_text(path, json.dumps(manifest, indent=2) + "\n")
    return path


def read_manifest(out_dir: str | Path) -> dict[str, Any]:
    """The manifest of an exported folder, checked for the fields the backend reads."""
    path = Path(out_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise OnnxExportError(f"{path}: no ONNX export here (run python -m ltr_ext.admin.export_onnx)") from None
    except (OSError, ValueError) as err:
        raise OnnxExportError(f"{path}: unreadable manifest ({err})") from None
    parts = manifest.get("parts") if isinstance(manifest, dict) else None
    if not isinstance(parts, dict) or manifest.get("format") != FORMAT:
        raise OnnxExportError(f"{path}: not a format-{FORMAT} ONNX export manifest; export again")
    return manifest


def export_parameter_set(name: str, out_dir: str | Path, net_path: str | Path | None = None) -> Path:
    """Export the network of parameter set ``name`` (or the weights file ``net_path``) to ``out_dir``."""
    from pytracking_ext.evaluation.network_loading import read_network
    from pytracking_ext.trackers import get_parameters

    target = exportable(name)
    params = get_parameters(target.tracker, target.parameter_set)
    spec = params.net
    if net_path is not None:
        spec = dataclasses.replace(spec, path=str(Path(net_path).expanduser().resolve()))
    path = spec.resolve()
    if not path.is_file():
        raise OnnxExportError(f"{path}: network file not found (--net or the parameter set's net)")
    # the plain network: the CPU inference copy's prepacked oneDNN convolutions have no ONNX form
    plain = dataclasses.replace(spec, cpu_inference=False, channels_last=False, precision="fp32")
    net = read_network(plain, "cpu")
    return export_network(net, target, tuple(params.image_sample_size), out_dir, file_sha256(path), str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ltr_ext.admin.export_onnx", description=__doc__.split("\n")[0])
    parser.add_argument("name", help=f"parameter set to export ({', '.join(sorted(EXPORTABLE))})")
    parser.add_argument("out_dir", help="folder for the .onnx files and manifest.json (created if missing)")
    parser.add_argument("--net", default=None, help="another weights file of that architecture")
    args = parser.parse_args(argv)
    try:
        out_dir = Path(args.out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise OnnxExportError(f"{out_dir}: OUT_DIR exists and is not a folder")
        manifest = export_parameter_set(args.name, out_dir, args.net)
    except (PytrackingError, CheckpointError, ConstructorRecordError, StateDictMismatch, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    parts = read_manifest(manifest.parent)["parts"]
    print(f"wrote {len(parts)} ONNX parts ({', '.join(parts)}) and {manifest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
