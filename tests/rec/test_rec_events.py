"""App events -> tensors -> training step -> scoring a brand-new post (the feed's path)."""

from __future__ import annotations

import torch

from townsquare.rec.events import Entity, Event, IdVocab, collate, entity_features
from townsquare.rec.model import HEADS, RecConfig, UnifiedModel
from townsquare.rec.train import event_batch_loss


def make_entities():
    g = torch.Generator().manual_seed(0)
    posts = [Entity(f"post:{i}", ["text", "photo", "video", "link"][i % 4], f"account:{i % 3}",
                    torch.randn(384, generator=g)) for i in range(6)]
    accounts = [Entity(f"account:{i}", "account", f"account:{i}", None) for i in range(3)]
    return posts, accounts


def test_events_collate_train_and_score_a_new_post():
    torch.manual_seed(0)
    posts, accounts = make_entities()
    ids = IdVocab(e.key for e in posts + accounts)
    authors = IdVocab(a.key for a in accounts)
    cfg = RecConfig(n_ids=len(ids), n_authors=len(authors), text_dim=384, content_types=True, time_buckets=24,
                    max_len=8, d_model=16, id_dropout=0.2)
    model = UnifiedModel(cfg)
    h1 = [Event(posts[0], "impression", 100.0), Event(posts[0], "like", 105.0, labels={"like": 1, "open": 1}),
          Event(accounts[1], "follow", 200.0, labels={"follow_author": 1}),
          Event(posts[2], "hide", 300.0, labels={"hide_report": 1, "like": 0})]
    h2 = [Event(posts[3], "open", 1000.0, labels={"open": 1, "dwell": 0})]
    batch = collate([h1, h2], cfg, ids, authors)
    assert batch.history.entities.ids.shape == (2, 4)
    assert batch.history.lengths.tolist() == [4, 1]
    assert batch.target_mask[0].tolist() == [False, True, True, False]     # impression, hide: no
    assert batch.labels[0, 1, HEADS.index("like")] == 1.0
    assert batch.labels[0, 0, HEADS.index("like")] == -1.0                # unknown
    assert batch.history.times[0].tolist() == [0.0, 5.0, 100.0, 200.0]
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        loss, _ = event_batch_loss(model, batch, negatives=4)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    # Serving: a brand-new post (not in the vocabulary) is scored from its content.
    model.eval()
    new_post = Entity("post:new", "video", "account:1", torch.randn(384))
    feats = entity_features([new_post, posts[1]], cfg, ids, authors)
    assert feats.ids.tolist() == [0, 2]
    state = model.last_state(collate([h1], cfg, ids, authors).history)[0]
    vecs = model.entity_vectors(feats)
    scores, idx = model.retrieve(state, vecs, k=2)
    assert torch.isfinite(scores).all() and sorted(idx.tolist()) == [0, 1]
    probs = model.score_actions(state, vecs)
    assert probs["follow_author"].shape == (2,)
