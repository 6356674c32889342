"""Miniature synthetic benchmarks in the official on-disk layouts (docs/conventions.md D.4).

``generate("lasot", out, num_sequences=5, num_frames=30, seed=0)`` (or
``python -m pytracking_ext.synthetic --format lasot --out DIR ...``) renders textured objects on
textured, slowly panning backgrounds, with smooth motion, scale/aspect/rotation change, partial and
full occlusion by boards sliding in front, out-of-view excursions, similar-looking distractors and,
for the VOS formats, several objects (some starting late in YouTube-VOS). Every ground-truth box is
the tight inclusive box of the object's visible mask (``mask_to_bbox``); absence is marked the way
each benchmark marks it. The same arguments give byte-identical files.

Formats (registry :data:`FORMATS` in :mod:`.formats`, filled from the entry-point group
``pytracking_ext.synthetic_formats``, where ``pyproject.toml`` declares the built-ins below; a writer
is ``writer(out: Path, spec: GenerationSpec) -> GeneratedDataset``; :mod:`.generation` runs one):

==============  ===========================================================================
lasot           ``<class>/<class>-<k>/img/%08d.jpg``, ``groundtruth.txt`` (absent: ``0,0,0,0``),
                single-line ``full_occlusion.txt`` / ``out_of_view.txt``, ``nlp.txt``
got10k          ``{train,val,test}/list.txt``, ``<seq>/%08d.jpg``, ``groundtruth.txt`` (4 decimals,
                test: first line only), ``meta_info.ini``, train/val ``absence.label``,
                ``cover.label`` (visible eighths), ``cut_by_image.label``; absent boxes ``0,0,0,0``
trackingnet     ``TEST/frames/<seq>/<i>.jpg`` (0-based), ``TEST/anno/<seq>.txt`` (first line only),
                ``TRAIN_0`` fully annotated; targets never vanish (no absence marker exists)
uav             ``data_seq/UAV123/<video>/%06d.jpg``, ``anno/UAV123/<name>.txt``, absent
                ``NaN,NaN,NaN,NaN``; split videos (``bird1_1``...) share their folder and a boundary frame
nfs             ``sequences/<seq>/%05d.jpg``, tab-separated ``anno/nfs_<seq>.txt``; never absent
otb             ``<Name>/img/%04d.jpg``, ``<Name>/groundtruth_rect.txt`` (every 4th file uses tabs,
                like some OTB files); never absent
vot             toolkit workspace: ``sequences/list.txt``, ``sequences/<seq>/sequence``,
                ``color/%08d.jpg``, ``groundtruth.txt``, ``occlusion.tag``; ``vot_region`` =
                rectangle | polygon (rotated rectangle at the object's angle) | mask (RLE; absent:
                ``m0,0,0,0,0``; only mask mode lets the target vanish)
davis           2017: ``JPEGImages/480p/<seq>/%05d.jpg`` (0-based), palette
                ``Annotations/480p/<seq>/%05d.png`` with ids 1..K, ``ImageSets/2017/{train,val}.txt``;
                ``davis_version=2016``: one object, 0/255 grayscale PNGs, ``ImageSets/2016/val.txt``
                and ``ImageSets/480p/val.txt`` (frame pairs); absent objects are missing from the PNG
youtubevos      ``2019/{train,valid}/JPEGImages/<video>/<5-digit>.jpg``, ``Annotations``,
                ``meta.json``; frame names step by 5 and start at 00000 only for even videos;
                valid PNGs only where objects first appear (holding just those objects);
                ``valid_all_frames/JPEGImages`` with every 30 fps frame; unseen categories
                (penguin, turtle, frog) occur only in valid
==============  ===========================================================================

Additions that the official datasets do not have (documented here, read by our loaders):

* ``<root>/sequence_table.json`` (lasot, uav, nfs, otb): the generated dataset's own sequence
  table ``{"dataset": ..., "sequences": [{"name", "path", "startFrame", "endFrame", "nz", "ext",
  "anno_path", "object_class", "initOmit"}]}`` (LaSOT entries: ``name``, ``object_class``; NFS
  entries also ``occlusion``), used instead of the built-in tables.
* ``<root>/LaSOT_attributes.json``, ``UAV123_attributes.json``, ``otb_attributes.json``: attribute
  codes derived from what was rendered (:mod:`.attributes`).
* ``<root>/2019/valid_gt/Annotations/<video>/<frame>.png``: dense ground truth of every
  ``valid/JPEGImages`` frame (all objects), for local scoring of YouTube-VOS valid.
* GOT-10k ``meta_info.ini`` ``url`` is ``synthetic://seed<S>/<index>``; VOT ``sequence`` files also
  carry ``width`` and ``height``; DAVIS uses the ``480p`` folder names whatever the image size.
"""

from __future__ import annotations

from .common import GeneratedDataset, GenerationSpec
from .formats import FORMATS
from .generation import generate, generate_dataset, make_spec

__all__ = ["FORMATS", "GeneratedDataset", "GenerationSpec", "generate", "generate_dataset", "make_spec"]
