"""Training core for the segmentation plugins: class weights, the clip actor, plateau schedules."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from ltr_ext.actors import ClipSegmentationActor
from ltr_ext.data.loader import LTRLoader
from ltr_ext.models.loss.class_weights import class_frequencies, log_inverse_weights
from ltr_ext.run_training import build_settings
from ltr_ext.trainers import LTRTrainer


def test_class_frequencies_ignore_the_ignore_label():
    labels = [np.array([[0, 0, 1, 255]]), np.array([[2, 2, 255, 255]])]
    assert np.allclose(class_frequencies(labels, 3), [2 / 5, 1 / 5, 2 / 5])


def test_log_inverse_weights_follow_one_over_log_of_c_plus_f():
    weights = log_inverse_weights([0.0, 0.5, 1.0], c=1.10)
    assert torch.allclose(weights, torch.tensor([1 / math.log(1.10), 1 / math.log(1.60), 1 / math.log(2.10)]))


def test_log_inverse_weights_refuse_c_at_most_one():
    with pytest.raises(ValueError, match="c > 1"):
        log_inverse_weights([0.1], c=1.0)


class _SingleFrame(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))
        self.decoder = nn.Conv2d(4, 3, 1)

    def forward(self, frame):
        return self.decoder(self.encoder(frame))


class _Clip(_SingleFrame):
    def forward_clip(self, frames):
        return self.decoder(self.encoder(frames.mean(1)))

    forward = forward_clip


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    label = torch.randint(0, 3, (2, 8, 8), generator=g)
    label[:, 0] = 255
    return {"frames": torch.rand(2, 3, 3, 8, 8, generator=g), "label": label}


def test_single_frame_network_is_scored_on_the_last_frame_only():
    torch.manual_seed(0)
    net, data = _SingleFrame(), _batch()
    weights = torch.tensor([1.0, 2.0, 3.0])
    loss, stats = ClipSegmentationActor(net, weights)(data)
    expected = F.cross_entropy(net(data["frames"][:, -1]), data["label"], weight=weights, ignore_index=255)
    assert torch.allclose(loss, expected) and stats["Loss/total"] == pytest.approx(float(expected.detach()))


def test_clip_network_reads_the_whole_clip():
    torch.manual_seed(0)
    net, data = _Clip(), _batch()
    loss, _ = ClipSegmentationActor(net)(data)
    expected = F.cross_entropy(net.forward_clip(data["frames"]), data["label"], ignore_index=255)
    assert torch.allclose(loss, expected)


def test_pixel_accuracy_counts_labelled_pixels_only():
    net, data = _SingleFrame(), _batch()
    _, stats = ClipSegmentationActor(net)(data)
    prediction = net(data["frames"][:, -1]).argmax(1)
    valid = data["label"] != 255
    assert stats["Stats/pixel_acc"] == pytest.approx(float((prediction == data["label"])[valid].float().mean()))


def test_frozen_parts_get_no_gradient_and_stay_in_eval_mode():
    net = _SingleFrame()
    actor = ClipSegmentationActor(net, frozen=["encoder"])
    actor.train(True)
    assert not net.encoder.training and net.decoder.training
    actor(_batch())[0].backward()
    assert all(p.grad is None for p in net.encoder.parameters())
    assert all(p.grad is not None for p in net.decoder.parameters())


class _Data(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        batch = _batch(index)
        return {"frames": batch["frames"][0], "label": batch["label"][0]}


class _RecordingPlateau(torch.optim.lr_scheduler.ReduceLROnPlateau):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def step(self, metrics, epoch=None):
        self.seen.append(metrics)
        super().step(metrics)


def test_plateau_schedule_steps_with_the_epochs_training_loss(workspace):
    settings = build_settings("examples", "tiny", [("batch_size", 2)], str(workspace))
    net = _SingleFrame()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    scheduler = _RecordingPlateau(optimizer, factor=0.8, patience=0)
    trainer = LTRTrainer(
        ClipSegmentationActor(net), [LTRLoader("train", _Data(), batch_size=2)], optimizer, settings, scheduler
    )
    trainer.train(2)
    assert scheduler.seen == trainer.stats["train"]["Loss/total"].history
