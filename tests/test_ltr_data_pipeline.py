"""Training data: datasets on official layouts, frame sampling, crops, labels, transforms, skipping."""

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from ltr_ext.data.loader import LTRLoader
from ltr_ext.data.processing import SegmentationProcessing
from ltr_ext.data.processing_utils import box_in_crop, crop_and_resize, crop_rectangle, gaussian_label_function
from ltr_ext.data.sampler import SequenceSampler
from ltr_ext.data.transforms import BrightnessJitter, Compose, RandomAffine, RandomHorizontalFlip, Sample
from ltr_ext.dataset import davis, got10k, lasot, trackingnet, with_pregenerated_masks, youtubevos
from pytracking_ext.synthetic import generate
from pytracking_ext.utils.boxes import mask_to_bbox
from pytracking_ext.utils.io import imwrite_indexed


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return {
        fmt: generate(fmt, root / fmt, num_sequences=2, num_frames=12, seed=3, num_objects=2)
        if fmt in ("davis", "youtubevos")
        else generate(fmt, root / fmt, num_sequences=2, num_frames=12, seed=3)
        for fmt in ("got10k", "trackingnet", "davis", "youtubevos")
    }


def _processing(**extra):
    return SegmentationProcessing(
        output_sz=(64, 48),
        search_area_factor=3.0,
        center_jitter_factor={"train": 0.5, "test": 1.0},
        scale_jitter_factor={"train": 0.1, "test": 0.2},
        **extra,
    )


def test_got10k_train_has_boxes_and_visibility_from_labels(workspace, generated):
    data = got10k(generated["got10k"])
    info = data.get_sequence_info(0)
    assert info["bbox"].shape == (12, 4) and info["visible"].dtype == torch.bool
    frames, anno, _ = data.get_frames(0, [0, 5])
    assert frames[0].ndim == 3 and len(anno["bbox"]) == 2 and "mask" not in anno


def test_trackingnet_train_chunk_is_read(workspace, generated):
    assert trackingnet(generated["trackingnet"], chunks=(0,)).get_num_sequences() >= 1


@pytest.mark.parametrize("reader,key", [(davis, "davis"), (youtubevos, "youtubevos")])
def test_vos_datasets_give_one_entry_per_object_with_masks(workspace, generated, reader, key):
    data = reader(generated[key])
    assert data.get_num_sequences() >= 2 and data.has_segmentation_info()
    info = data.get_sequence_info(0)
    frame = int(np.flatnonzero(info["visible"].numpy())[0])
    _, anno, meta = data.get_frames(0, [frame])
    mask = anno["mask"][0].numpy()
    assert meta["object_id"] is not None and mask.max() == 1
    assert np.allclose(mask_to_bbox(mask), anno["bbox"][0].tolist())


def test_pregenerated_masks_are_added_to_a_box_dataset(workspace, generated, tmp_path):
    data = got10k(generated["got10k"])
    seq = data.entries[0].sequence
    mask = np.zeros((240, 320), np.uint8)
    mask[10:20, 30:50] = 255
    imwrite_indexed(tmp_path / seq.name / f"{Path(seq.frames[3]).stem}.png", mask)
    _, anno, _ = with_pregenerated_masks(data, tmp_path).get_frames(0, [3, 4])
    assert anno["mask"][0].sum() == 200 and anno["mask"][1].sum() == 0


def test_causal_frames_respect_order_gap_and_visibility():
    sampler = SequenceSampler([], [1.0], 1, max_gap=3, num_test_frames=2, num_train_frames=2)
    visible = np.ones(30, bool)
    visible[10:15] = False
    rng = random.Random(0)
    for _ in range(50):
        train, test = sampler.sample_frame_ids(visible, rng)
        assert max(train) < min(test) and all(visible[i] for i in train + test)
        assert max(test) - max(train) < 3 + 1000


def test_reverse_sampling_puts_train_frames_after_test_frames():
    sampler = SequenceSampler([], [1.0], 1, max_gap=5, num_test_frames=1, p_reverse=1.0)
    train, test = sampler.sample_frame_ids(np.ones(20, bool), random.Random(1))
    assert train[0] > test[0]


class _Counting:
    """A fake dataset that counts how often it is drawn."""

    def __init__(self, name):
        self.name, self.draws = name, 0

    def is_video_sequence(self):
        return False

    def get_name(self):
        return self.name

    def get_num_sequences(self):
        return 1

    def __len__(self):
        return 1

    def get_sequence_info(self, seq_id):
        return {"bbox": torch.tensor([[2.0, 2.0, 4.0, 4.0]]), "visible": torch.tensor([True])}

    def get_frames(self, seq_id, ids, info=None):
        self.draws += 1
        return [np.zeros((16, 16, 3), np.uint8)] * len(ids), {"bbox": [info["bbox"][0]] * len(ids)}, {}


def test_dataset_weights_set_how_often_each_is_drawn():
    a, b = _Counting("a"), _Counting("b")
    sampler = SequenceSampler([a, b], [3, 1], 400, max_gap=1, num_test_frames=1)
    random.seed(0)
    for i in range(400):
        sampler[i]
    assert 0.68 < a.draws / 400 < 0.82


def test_unreadable_images_are_skipped_and_counted(workspace, generated):
    data = got10k(generated["got10k"])
    for seq in {e.sequence.name: e.sequence for e in data.entries}.values():
        for frame in seq.frames[::2]:
            Path(frame).write_bytes(b"broken")
    sampler = SequenceSampler([data], None, 4, max_gap=50, num_test_frames=1)
    random.seed(0)
    with pytest.warns(UserWarning, match="unreadable"):
        sample = sampler[0]
    assert sample["skipped_images"] >= 1


def test_sampler_is_deterministic_for_a_seed(workspace, generated):
    sampler = SequenceSampler(
        [youtubevos(generated["youtubevos"])], None, 4, max_gap=5, num_test_frames=2, processing=_processing()
    )
    random.seed(5)
    first = sampler[0]
    random.seed(5)
    second = sampler[0]
    assert torch.equal(first["test_images"], second["test_images"])


def test_loader_gives_frames_first_batches_of_processed_samples(workspace, generated):
    sampler = SequenceSampler(
        [davis(generated["davis"])],
        None,
        4,
        max_gap=5,
        num_test_frames=2,
        processing=_processing(label_sigma_factor=0.05, label_feature_sz=(8, 6)),
    )
    batch = next(iter(LTRLoader("train", sampler, batch_size=2, stack_dim=1)))
    assert batch["train_images"].shape == (1, 2, 3, 48, 64) and batch["test_masks"].shape == (2, 2, 48, 64)
    assert batch["test_label"].shape == (2, 2, 7, 9) and batch["dataset"] == ["davis", "davis"]


def test_crop_has_output_aspect_and_search_area():
    x0, y0, w, h = crop_rectangle([100, 100, 20, 40], (1000, 1000), 4.0, (64, 32))
    assert w / h == pytest.approx(2.0) and w * h == pytest.approx(16 * 20 * 40)
    assert (x0 + w / 2, y0 + h / 2) == pytest.approx((110, 120))


def test_inside_major_crop_fits_one_axis_and_stays_inside():
    x0, y0, w, h = crop_rectangle([5, 5, 40, 40], (100, 300), 5.0, (64, 64), crop_type="inside_major")
    assert w == pytest.approx(200) and (x0, y0) == pytest.approx((0.0, -50.0))


def test_mask_crop_is_aligned_with_the_image_crop_and_the_box():
    image = np.zeros((100, 100, 3), np.uint8)
    mask = np.zeros((100, 100), np.float32)
    image[40:60, 30:50] = 255
    mask[40:60, 30:50] = 1
    rect = crop_rectangle([30, 40, 20, 20], (100, 100), 2.0, (40, 40))
    image_crop, mask_crop = crop_and_resize(image, rect, (40, 40)), crop_and_resize(mask, rect, (40, 40), is_mask=True)
    box = box_in_crop([30, 40, 20, 20], rect, (40, 40))
    assert np.allclose(mask_to_bbox(mask_crop > 0), box.tolist(), atol=1)
    assert np.array_equal(image_crop[..., 0] > 127, mask_crop > 0.5)


def test_gaussian_label_peaks_at_the_box_centre():
    label = gaussian_label_function(torch.tensor([[40.0, 20.0, 16.0, 16.0]]), 0.25, 4, (8, 6), (64, 48))
    assert label.shape == (1, 7, 9)
    row, col = divmod(int(label[0].argmax()), 9)
    # centre (48, 28): 8*(48-32)/64 + 0.5 = 2.5 cells right of the grid centre (column 6 of -3.5..4.5)
    # and 6*(28-24)/48 + 0.5 = 1.0 below it (between rows 3 and 4 of -2.5..3.5)
    assert col == 6 and row in (3, 4) and label.max() <= 1


def test_flip_keeps_box_and_mask_consistent():
    mask = np.zeros((20, 30), np.uint8)
    mask[5:10, 2:8] = 1
    sample = Sample(np.zeros((20, 30, 3), np.uint8), torch.tensor(mask_to_bbox(mask)), mask)
    (flipped,) = Compose(RandomHorizontalFlip(1.0))([sample], random.Random(0))
    assert flipped.box.tolist() == mask_to_bbox(flipped.mask)


def test_affine_box_contains_the_transformed_mask_box():
    mask = np.zeros((60, 80), np.uint8)
    mask[20:35, 30:50] = 1
    sample = Sample(np.zeros((60, 80, 3), np.uint8), torch.tensor(mask_to_bbox(mask)), mask)
    (moved,) = RandomAffine(max_rotation=20, max_scale=0.2)([sample], random.Random(3))
    mx, my, mw, mh = mask_to_bbox(moved.mask)
    bx, by, bw, bh = moved.box.tolist()
    assert bx <= mx + 1 and by <= my + 1 and bx + bw >= mx + mw - 1 and by + bh >= my + mh - 1
    assert bw * bh < 2.0 * mw * mh  # corners of the box, not a blow-up


def test_lasot_training_split_excludes_test_sequences_and_keeps_visibility(workspace, tmp_path):
    root = generate("lasot", tmp_path / "lasot", num_sequences=2, num_frames=10, seed=4)
    (root / "sequence_table.json").unlink()
    first = sorted(p for p in root.glob("*/*-*") if p.is_dir())[0]
    renamed = first.with_name(first.name.rsplit("-", 1)[0] + "-99")  # LaSOT numbers stop at 20: never a test name
    first.rename(renamed)
    data = lasot(root)
    names = {e.sequence.name for e in data.entries}
    assert renamed.name in names and first.name not in names
    assert data.get_sequence_info(0)["visible"].shape == (10,)


def test_frame_transforms_roll_independently_per_frame(workspace, generated):
    processing = _processing(frame_transform=Compose(BrightnessJitter(0.5)))
    sampler = SequenceSampler(
        [got10k(generated["got10k"])], None, 1, max_gap=5, num_test_frames=3, processing=processing
    )
    random.seed(2)
    sample = sampler[0]
    means = [float(img.mean()) for img in sample["test_images"]]
    assert len(set(round(m, 4) for m in means)) == 3


def test_davis_2016_training_masks_map_255_to_the_object(tmp_path):
    root = generate(
        "davis", tmp_path / "d16", num_sequences=1, num_frames=4, seed=2, davis_version=2016, progress=False
    )
    data = davis(root, "2016", "val")
    _, anno, _ = data.get_frames(0, [0])
    assert anno["mask"][0].max() == 1 and anno["mask"][0].sum() > 0


def test_only_sequences_keeps_the_named_videos_and_names_unknown_ones(tmp_path):
    from ltr_ext.dataset.video_dataset import only_sequences, subset
    from pytracking_ext.errors import DatasetError

    root = generate("davis", tmp_path / "d17", num_sequences=3, num_frames=4, seed=2, num_objects=2, progress=False)
    data = davis(root, "2017", "train")
    names = sorted({e.sequence.name for e in data.entries})
    kept = only_sequences(data, names[:1])
    assert {e.sequence.name for e in kept.entries} == {names[0]} and kept.get_num_sequences() == sum(
        e.sequence.name == names[0] for e in data.entries
    )  # every object
    listing = tmp_path / "list.txt"
    listing.write_text("1\n")
    assert {e.sequence.name for e in subset(data, listing).entries} == {
        list(dict.fromkeys(e.sequence.name for e in data.entries))[1]
    }
    with pytest.raises(DatasetError, match="nope"):
        only_sequences(data, ["nope"])
