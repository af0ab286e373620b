"""The training loop: best-epoch weights, early stopping, learning-rate decay on a plateau."""

from __future__ import annotations

import torch

from townsquare.rec.train import TrainConfig, fit


def test_fit_keeps_best_epoch_and_decays_lr_on_plateau():
    model = torch.nn.Linear(2, 1)
    scores = iter([0.1, 0.3, 0.2, 0.25, 0.1, 0.0])   # best at epoch 2, then 4 epochs without a better one
    weights: list[torch.Tensor] = []

    def loss_fn(batch):
        return (model(batch) ** 2).mean()

    def validate():
        weights.append(model.weight.detach().clone())
        return next(scores)

    def batches(epoch):
        yield torch.ones(4, 2)

    tc = TrainConfig(epochs=6, patience=3, lr=0.1, warmup_steps=1, plateau_decay=0.5, grad_clip=0.0)
    res = fit(model, batches, loss_fn, validate, tc)
    assert res.best_epoch == 2 and res.epochs == 5 and res.stopped == "patience"
    assert torch.equal(model.weight.detach(), weights[1])          # the best epoch's weights are back
    assert [round(h["lr"], 4) for h in res.history] == [0.1, 0.1, 0.1, 0.05, 0.025]
