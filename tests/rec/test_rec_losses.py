"""Losses on tiny hand-computed examples."""

from __future__ import annotations

import math

import torch

from townsquare.rec.model import (
    EntityFeatures,
    History,
    RecConfig,
    UnifiedModel,
    action_loss,
    full_softmax_loss,
    sampled_softmax_loss,
)
from townsquare.rec.train import EventBatch, event_batch_loss, id_batch_loss


def dot_model() -> UnifiedModel:
    return UnifiedModel(RecConfig(n_ids=4, d_model=2, similarity="dot"))


def test_sampled_softmax_by_hand():
    model = dot_model()
    states = torch.tensor([[1.0, 0.0]])
    pos = torch.tensor([[1.0, 0.0]])
    negs = torch.tensor([[0.0, 1.0], [2.0, 0.0], [1.0, 0.0]])
    neg_keys = torch.tensor([7, 8, 5])           # the last one is the positive itself: masked
    logq = torch.log(torch.tensor([0.5, 0.25, 0.25]))
    loss = sampled_softmax_loss(model, states, pos, torch.tensor([5]), negs, neg_keys, logq)
    # logits: positive 1; negatives 0 - log 0.5 and 2 - log 0.25; the third is masked out.
    a, b, c = 1.0, 0.0 - math.log(0.5), 2.0 - math.log(0.25)
    expected = -a + math.log(math.exp(a) + math.exp(b) + math.exp(c))
    assert abs(loss.item() - expected) < 1e-5


def test_cosine_temperature_scales_logits():
    model = UnifiedModel(RecConfig(n_ids=4, d_model=2, similarity="cosine", temperature=0.5))
    states = torch.tensor([[3.0, 0.0]])
    vecs = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = full_softmax_loss(model, states, torch.tensor([1]), vecs)
    # cos = (1, 0) / 0.5 -> logits (2, 0); target 1.
    expected = -0.0 + math.log(math.exp(2.0) + math.exp(0.0))
    assert abs(loss.item() - expected) < 1e-5


def test_action_loss_ignores_unknown_labels():
    torch.manual_seed(0)
    model = UnifiedModel(RecConfig(n_ids=4, d_model=2, heads=("like", "follow_author")))
    states, cand = torch.randn(2, 2), torch.randn(2, 2)
    logits = model.action_logits(states, cand)
    labels = torch.tensor([[1.0, -1.0], [0.0, 1.0]])
    z = logits[[0, 1, 1], [0, 0, 1]]
    y = torch.tensor([1.0, 0.0, 1.0])
    expected = -(y * torch.log(torch.sigmoid(z)) + (1 - y) * torch.log(1 - torch.sigmoid(z))).mean()
    assert torch.allclose(action_loss(model, states, cand, labels), expected, atol=1e-6)


def test_id_loss_full_and_sampled_agree():
    torch.manual_seed(0)
    small = UnifiedModel(RecConfig(n_ids=10, max_len=5, d_model=8, similarity="dot", dropout=0.0,
                                   emb_dropout=0.0)).eval()
    windows = [[1, 2, 3], [4, 5, 6, 7]]
    # Tiny initial vectors and dot products: every logit is about 0, the loss about log(10).
    assert abs(id_batch_loss(small, windows, negatives=0).item() - math.log(10)) < 0.05
    # Cosine / temperature gives large logits; many uniform negatives with the logQ correction
    # estimate the full softmax closely.
    model = UnifiedModel(RecConfig(n_ids=10, max_len=5, d_model=8, dropout=0.0, emb_dropout=0.0)).eval()
    full = id_batch_loss(model, windows, negatives=0).item()
    sampled = id_batch_loss(model, windows, negatives=20_000).item()
    assert full > math.log(10) + 1
    assert abs(sampled - full) < 0.1


def test_event_batch_loss_trains_every_part():
    torch.manual_seed(0)
    cfg = RecConfig(n_ids=10, n_authors=4, text_dim=6, content_types=True, time_buckets=8, max_len=6,
                    d_model=8, heads=("like", "hide_report"), id_dropout=0.3)
    model = UnifiedModel(cfg)
    B, L = 2, 5
    ents = EntityFeatures(ids=torch.randint(0, 11, (B, L)), content_type=torch.randint(1, 6, (B, L)),
                          author=torch.randint(1, 5, (B, L)), text=torch.randn(B, L, 6))
    h = History(ents, torch.tensor([5, 3]), torch.randint(1, 10, (B, L)), torch.arange(B * L).view(B, L) * 60.0)
    labels = torch.randint(0, 2, (B, L, 2)).float()
    labels[0, 2] = -1
    batch = EventBatch(h, target_mask=torch.ones(B, L, dtype=torch.bool), labels=labels,
                       keys=torch.arange(B * L).view(B, L))
    loss, parts = event_batch_loss(model, batch, negatives=5)
    loss.backward()
    assert set(parts) == {"retrieval", "actions"} and torch.isfinite(loss)
    for p in (model.entity.text_proj.weight, model.head_out[1].weight, model.time_bias.weight,
              model.entity.author_emb.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_id_bias_enters_scores_and_sampled_loss():
    model = UnifiedModel(RecConfig(n_ids=3, d_model=2, similarity="dot", id_bias=True))
    model.init_id_bias(torch.tensor([10, 0, 5]))
    vecs, bias = model.all_id_vectors()
    assert bias.argsort(descending=True).tolist() == [0, 2, 1]     # popularity order
    states = torch.zeros(1, 2)
    assert torch.allclose(model.retrieval_scores(states, vecs, bias), bias[None])
    loss = sampled_softmax_loss(model, torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([1]),
                                torch.tensor([[0.0, 1.0]]), torch.tensor([2]), torch.zeros(1),
                                torch.tensor([0.5]), torch.tensor([2.0]))
    a, b = 1.0 + 0.5, 0.0 + 2.0
    assert abs(loss.item() - (-a + math.log(math.exp(a) + math.exp(b)))) < 1e-5
