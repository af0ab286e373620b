"""Data-parallel training of the unified model across processes (PyTorch DDP, started by torchrun).

``townsquare train --nproc N`` starts ``torchrun --standalone --nproc_per_node N`` on itself; each
process finds its rank in the environment (``RANK``, ``WORLD_SIZE``) and ``rec/pipeline.py`` then:

- builds the same encoded log on every rank (rank 0 first, so that it alone computes and caches the
  text embeddings; the others read the cache),
- shards the training windows (each a stretch of one person's history) across ranks: after the same
  shuffle on every rank, rank r takes every N-th window from r, so each epoch every rank sees a
  different 1/N of the log and all ranks take the same number of steps,
- keeps the global batch the single-process one (each rank a 1/N share of it) and averages the
  gradients with DDP, so the learning schedule is that of one process,
- validates on rank 0 and broadcasts the score (early stopping is the same decision everywhere),
  and agrees at every step on the time budget,
- evaluates, saves and activates on rank 0 only: the registry gets one checkpoint, as today.

The backend is gloo (CPU). The training loop itself runs on the CPU.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class DistContext:
    rank: int
    world: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        import torch.distributed as dist

        dist.barrier()

    def broadcast_float(self, value: float) -> float:
        """Rank 0's value, on every rank."""
        import torch
        import torch.distributed as dist

        t = torch.tensor([float(value)], dtype=torch.float64)
        dist.broadcast(t, src=0)
        return float(t.item())

    def any(self, flag: bool) -> bool:
        """True on every rank when it is True on any rank."""
        import torch
        import torch.distributed as dist

        t = torch.tensor([1 if flag else 0], dtype=torch.int32)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def sum(self, value: float) -> float:
        import torch
        import torch.distributed as dist

        t = torch.tensor([float(value)], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return float(t.item())


_context: DistContext | None = None


def current() -> DistContext | None:
    """This process's place in a distributed run (None when training alone). Initialises the process
    group once, from the environment torchrun sets."""
    global _context
    if _context is not None:
        return _context
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return None
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    _context = DistContext(rank=dist.get_rank(), world=dist.get_world_size())
    return _context


def shutdown() -> None:
    global _context
    if _context is None:
        return
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    _context = None


def torchrun_command(nproc: int, argv: list[str]) -> list[str]:
    """``python -m torch.distributed.run`` running ``townsquare <argv>`` in ``nproc`` processes."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
            "-m", "townsquare.cli", *argv]


def without_nproc(argv: list[str]) -> list[str]:
    """``argv`` less its ``--nproc N`` / ``--nproc=N``."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--nproc":
            skip = True
            continue
        if arg.startswith("--nproc="):
            continue
        out.append(arg)
    return out
