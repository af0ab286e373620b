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


def _walk_fit(target: float, average_top: int):
    """A 1-parameter model that moves by +1 each epoch (w = 1, 2, 3, 4); validation prefers w near
    ``target``. Returns the fit result and the final weight."""
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()

    def loss_fn(batch):
        return -model.weight.sum()            # a constant gradient: Adam moves the weight by +lr a step

    def validate():
        return -abs(model.weight.item() - target)

    def batches(epoch):
        yield None

    tc = TrainConfig(epochs=4, patience=10, lr=1.0, warmup_steps=1, grad_clip=0.0, average_top=average_top)
    res = fit(model, batches, loss_fn, validate, tc)
    return res, model.weight.item()


def test_checkpoint_average_is_kept_only_when_validation_prefers_it():
    # Best single epochs for target 3.5 are w = 3 and w = 4 (equal scores); their mean 3.5 is better.
    res, w = _walk_fit(target=3.5, average_top=2)
    assert res.averaged == [3, 4] and abs(w - 3.5) < 1e-4 and res.best_score > -1e-4
    # Target 4: the best epoch alone (w = 4) beats any mean with a worse epoch: not kept.
    res, w = _walk_fit(target=4.0, average_top=3)
    assert res.averaged == [] and abs(w - 4.0) < 1e-4 and res.average_score is not None
    # Off by default: nothing averaged, nothing scored.
    res, _ = _walk_fit(target=3.5, average_top=0)
    assert res.averaged == [] and res.average_score is None
