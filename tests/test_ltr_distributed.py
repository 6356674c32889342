"""DistributedDataParallel on CPU (gloo, 2 processes): synchronised replicas, sharded data, rank-0 writes."""

import os
import socket
import subprocess
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ltr_ext.run_training import build_settings
from ltr_ext.train_settings.examples import tiny
from ltr_ext.trainers import LTRTrainer, seed_everything
from ltr_ext.trainers.ltr_trainer import unwrap


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, root: str, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        workspace = os.path.join(root, f"ws{rank}")  # separate folders show who writes
        settings = build_settings("examples", "tiny", [("samples_per_epoch", 32), ("val_samples", 16)], workspace)
        settings.device = "cpu"
        seed_everything(settings.seed + rank)  # different initial weights: DDP must broadcast rank 0's
        actor, loaders, optimizer, scheduler = tiny.build(settings)
        LTRTrainer(actor, loaders, optimizer, settings, scheduler).train(2)
        torch.save(
            {"weights": unwrap(actor.net).state_dict(), "indices": list(loaders[0].sampler)},
            os.path.join(root, f"rank{rank}.pt"),
        )
    finally:
        dist.destroy_process_group()


def test_replicas_stay_identical_data_is_sharded_and_only_rank_zero_writes(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path), _free_port()), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    for name, value in r0["weights"].items():
        assert torch.equal(value, r1["weights"][name]), name
    assert set(r0["indices"]).isdisjoint(r1["indices"]) and len(r0["indices"]) == 16
    assert list((tmp_path / "ws0" / "checkpoints").rglob("*.pth.tar"))
    assert not (tmp_path / "ws1").exists()


def test_torchrun_trains_and_resumes_in_distributed_mode(tmp_path):
    def torchrun(epochs: int) -> subprocess.CompletedProcess:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            str(_free_port()),
            "-m",
            "ltr_ext.run_training",
            "examples",
            "tiny",
            "--workspace",
            str(tmp_path),
            "--set",
            "samples_per_epoch=32",
            "--set",
            "val_samples=16",
            "--set",
            f"max_epochs={epochs}",
        ]
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
        return subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)

    def failure(run: subprocess.CompletedProcess) -> str:
        # the failing rank's own error comes first, the launcher's summary last
        text = run.stderr
        return text if len(text) <= 6000 else text[:3000] + "\n...\n" + text[-3000:]

    first = torchrun(1)
    assert first.returncode == 0, failure(first)
    second = torchrun(2)
    assert second.returncode == 0, failure(second)
    assert "resuming after epoch 1" in second.stdout
    folder = tmp_path / "checkpoints" / "ltr" / "examples" / "tiny"
    assert sorted(p.name for p in folder.glob("*.pth.tar")) == [
        "TinySegNet_ep0001.pth.tar",
        "TinySegNet_ep0002.pth.tar",
    ]
