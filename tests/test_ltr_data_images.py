"""COCO and LVIS instances as one-frame pseudo-sequences, read with the official annotation APIs."""

import json
import random

import numpy as np
import pytest
import torch

from ltr_ext.data.sampler import SequenceSampler
from ltr_ext.dataset import coco, lvis
from pytracking_ext.errors import DatasetError
from pytracking_ext.utils.boxes import mask_to_bbox
from pytracking_ext.utils.io import imwrite_rgb

pytest.importorskip("pycocotools", reason="pycocotools not installed (pip install '.[images]')")

CATEGORIES = [{"id": 1, "name": "cat", "supercategory": "animal"}, {"id": 2, "name": "car", "supercategory": "vehicle"}]


def _square(x, y, side):
    return [[x, y, x + side, y, x + side, y + side, x, y + side]]


def _annotations(lvis_schema: bool):
    images, anns = [], []
    for i in range(2):
        image = {"id": i + 1, "height": 48, "width": 64}
        if lvis_schema:
            image.update(
                coco_url=f"http://images.cocodataset.org/train2017/{i + 1:012d}.jpg",
                not_exhaustive_category_ids=[],
                neg_category_ids=[],
            )
        else:
            image["file_name"] = f"{i + 1:012d}.jpg"
        images.append(image)
    specs = [(1, 1, 5, 5, 20, 0), (2, 1, 30, 10, 6, 0), (3, 2, 10, 20, 16, 0), (4, 2, 0, 0, 40, 1)]
    for ann_id, image_id, x, y, side, crowd in specs:
        ann = {
            "id": ann_id,
            "image_id": image_id,
            "category_id": 1 if ann_id != 3 else 2,
            "bbox": [x, y, side, side],
            "area": side * side,
            "segmentation": _square(x, y, side),
        }
        if not lvis_schema:
            ann["iscrowd"] = crowd
        anns.append(ann)
    if lvis_schema:
        anns = anns[:3]
    cats = [dict(c, frequency="f", synset=c["name"] + ".n.01") if lvis_schema else c for c in CATEGORIES]
    return {"images": images, "annotations": anns, "categories": cats}


def _write(root, lvis_schema: bool):
    folder = root / "images" / "train2017"
    for i in range(2):
        imwrite_rgb(folder / f"{i + 1:012d}.jpg", np.full((48, 64, 3), 60 * (i + 1), np.uint8))
    name = "lvis_v1_train.json" if lvis_schema else "instances_train2017.json"
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / name).write_text(json.dumps(_annotations(lvis_schema)))
    return root


def test_coco_instances_become_one_frame_sequences_without_crowds(tmp_path):
    data = coco(_write(tmp_path, False))
    assert data.get_num_sequences() == 3 and not data.is_video_sequence()
    frames, anno, meta = data.get_frames(0, [0, 0, 0])
    assert len(frames) == 3 and meta == {"object_class_name": "cat", "major_class": "animal", "image_id": 1}
    mask = anno["mask"][0].numpy()
    assert np.allclose(mask_to_bbox(mask), anno["bbox"][0].tolist(), atol=1)


def test_lvis_annotations_are_read_with_the_lvis_api(tmp_path):
    pytest.importorskip("lvis", reason="lvis not installed")
    data = lvis(_write(tmp_path, True))
    assert data.get_num_sequences() == 3
    frames, anno, _ = data.get_frames(2, [0])
    assert frames[0].shape == (48, 64, 3) and anno["mask"][0].sum() > 200


def test_category_and_area_filters(tmp_path):
    root = _write(tmp_path, False)
    assert coco(root, categories=["car"]).get_num_sequences() == 1
    assert coco(root, min_area=100).get_num_sequences() == 2
    with pytest.raises(DatasetError, match="unknown categories dog"):
        coco(root, categories=["dog"])


def test_missing_annotation_file_is_named(tmp_path):
    with pytest.raises(DatasetError, match="instances_train2017.json"):
        coco(tmp_path)


def test_image_instances_mix_with_videos_in_the_sampler(tmp_path):
    data = coco(_write(tmp_path, False))
    sampler = SequenceSampler([data], None, 2, max_gap=10, num_test_frames=2, num_train_frames=1)
    random.seed(0)
    sample = sampler[0]
    assert len(sample["train_images"]) == 1 and len(sample["test_images"]) == 2
    assert torch.equal(torch.as_tensor(sample["train_anno"][0]), torch.as_tensor(sample["test_anno"][0]))


@pytest.mark.parametrize("reader,module,package", [(coco, "pycocotools.coco", "pycocotools"), (lvis, "lvis", "lvis")])
def test_missing_annotation_package_is_a_one_line_install_hint(tmp_path, monkeypatch, reader, module, package):
    root = _write(tmp_path, reader is lvis)
    monkeypatch.setitem(__import__("sys").modules, module, None)  # import now fails as if not installed
    with pytest.raises(DatasetError, match=f"pip install {package}"):
        reader(root)
