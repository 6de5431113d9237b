"""Seeded training loop with checkpoints and a log of loss and validation metrics (PyTorch, CPU)."""

from __future__ import annotations

import json
import os
import random
import time

import numpy as np
import torch


def seed_everything(seed):
    """Seed Python, numpy and torch, and make torch's CPU kernels deterministic."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def train(net, data, train_idx, val_idx, *, loss_fn, epochs, batch_size, lr, seed, workdir, metrics=None,
          lr_steps=(), augment=True, keep="best", samples_per_epoch=None, log=print):
    """Train ``net`` on ``data`` (a :class:`data.PatchDataset`), checkpointing every epoch.

    Resumes from ``workdir/last.pt`` when it exists (same seed ⇒ same result).
    Writes ``workdir/log.jsonl`` (one line per epoch: train loss, validation loss
    and ``metrics``) and keeps the weights with the lowest validation loss in
    ``workdir/best.pt``. Returns the history (list of dicts); ``net`` ends with the best weights, or
    with the last epoch's when ``keep="last"`` (when the validation part is the held-out test set,
    which must not pick the epoch). ``augment`` is passed to :meth:`data.PatchDataset.batches`.
    ``samples_per_epoch``: an epoch is that many samples drawn from ``train_idx`` without replacement
    (seeded by the epoch), not all of them: a large set of overlapping windows is then seen in
    checkpointed pieces of equal length.
    """
    os.makedirs(workdir, exist_ok=True)
    seed_everything(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(lr_steps), gamma=0.1)
    last, best_path = os.path.join(workdir, "last.pt"), os.path.join(workdir, "best.pt")
    history, start, best = [], 0, float("inf")
    if os.path.exists(last):
        state = torch.load(last, weights_only=False)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        history, start, best = state["history"], state["epoch"], state["best"]
        torch.set_rng_state(state["torch_rng"])
        log(f"resumed at epoch {start} from {last}")
    metrics = metrics or {}
    for epoch in range(start, epochs):
        t0 = time.time()
        rng = np.random.default_rng(seed + epoch)
        net.train()
        total, count = 0.0, 0
        picked = train_idx if samples_per_epoch is None else rng.permutation(train_idx)[:samples_per_epoch]
        for x, y in data.batches(picked, batch_size, rng=rng, augment=augment):
            opt.zero_grad()
            loss = loss_fn(net(torch.from_numpy(x)), torch.from_numpy(y))
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(x)
            count += len(x)
        sched.step()
        val = evaluate(net, data, val_idx, loss_fn=loss_fn, metrics=metrics, batch_size=batch_size)
        row = {"epoch": epoch + 1, "train_loss": total / max(1, count), **val, "seconds": round(time.time() - t0, 2)}
        history.append(row)
        with open(os.path.join(workdir, "log.jsonl"), "a") as fh:
            fh.write(json.dumps(row) + "\n")
        log(" ".join(f"{k}={v:.5g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        if val["val_loss"] < best:
            best = val["val_loss"]
            torch.save(net.state_dict(), best_path)
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "history": history, "epoch": epoch + 1, "best": best, "torch_rng": torch.get_rng_state()}, last)
    if keep == "best" and os.path.exists(best_path):
        net.load_state_dict(torch.load(best_path, weights_only=True))
    return history


def evaluate(net, data, indices, *, loss_fn, metrics=None, batch_size=32):
    """Mean loss and metrics ``{name: fn(pred, target) -> float}`` over ``indices``, in eval mode."""
    net.eval()
    sums, n = {}, 0
    with torch.no_grad():
        for x, y in data.batches(indices, batch_size):
            pred, target = net(torch.from_numpy(x)), torch.from_numpy(y)
            values = {"val_loss": float(loss_fn(pred, target))}
            values.update({f"val_{k}": float(fn(pred, target)) for k, fn in (metrics or {}).items()})
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v * len(x)
            n += len(x)
    return {k: v / max(1, n) for k, v in sums.items()}
