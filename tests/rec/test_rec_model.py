"""The unified model: shapes, causality, entity representations, the app-facing API."""

from __future__ import annotations

import pytest
import torch

from townsquare.rec.model import (
    ACTION_INDEX,
    CONTENT_TYPE_INDEX,
    HEADS,
    EntityFeatures,
    History,
    RecConfig,
    UnifiedModel,
    history_from_ids,
)
from townsquare.rec.train import load_checkpoint, save_checkpoint

TEXT = 8


def content_config(**kw) -> RecConfig:
    base = dict(n_ids=20, n_authors=5, text_dim=TEXT, content_types=True, time_buckets=16, max_len=12,
                d_model=16, n_layers=2, n_heads=2, dropout=0.0, emb_dropout=0.0)
    base.update(kw)
    return RecConfig(**base)


def event_history(B: int = 3, L: int = 7, seed: int = 0) -> History:
    g = torch.Generator().manual_seed(seed)
    ents = EntityFeatures(
        ids=torch.randint(0, 21, (B, L), generator=g),
        content_type=torch.randint(1, len(CONTENT_TYPE_INDEX), (B, L), generator=g),
        author=torch.randint(1, 6, (B, L), generator=g),
        text=torch.randn(B, L, TEXT, generator=g),
    )
    actions = torch.randint(1, len(ACTION_INDEX), (B, L), generator=g)
    times = torch.cumsum(torch.randint(1, 5000, (B, L), generator=g), dim=1).float()
    return History(entities=ents, lengths=torch.tensor([L, L - 2, 1])[:B], actions=actions, times=times)


def catalog(N: int = 9, seed: int = 1) -> EntityFeatures:
    g = torch.Generator().manual_seed(seed)
    return EntityFeatures(ids=torch.randint(0, 21, (N,), generator=g),
                          content_type=torch.randint(1, 6, (N,), generator=g),
                          author=torch.randint(1, 6, (N,), generator=g), text=torch.randn(N, TEXT, generator=g))


def test_shapes_of_every_api_call():
    torch.manual_seed(0)
    model = UnifiedModel(content_config()).eval()
    h = event_history()
    states = model.encode(h)
    assert states.shape == (3, 7, 16)
    last = model.last_state(h)
    assert last.shape == (3, 16)
    assert torch.allclose(last[1], states[1, 4])
    vecs = model.entity_vectors(catalog())
    assert vecs.shape == (9, 16)
    assert torch.allclose(vecs.norm(dim=-1), torch.ones(9), atol=1e-5)  # cosine: unit vectors
    scores, idx = model.retrieve(last, vecs, k=4)
    assert scores.shape == (3, 4) and idx.shape == (3, 4)
    assert (scores[:, :-1] >= scores[:, 1:]).all()
    probs = model.score_actions(last[0], vecs)
    assert set(probs) == set(HEADS)
    assert all(p.shape == (9,) and ((p > 0) & (p < 1)).all() for p in probs.values())
    batch_probs = model.score_actions(last, catalog())
    assert batch_probs["like"].shape == (3, 9)
    assert torch.allclose(batch_probs["like"][0], probs["like"], atol=1e-6)


def test_retrieve_excludes_and_keeps_catalog_order_on_ties():
    model = UnifiedModel(RecConfig(n_ids=5, d_model=4, similarity="dot")).eval()
    state = torch.tensor([1.0, 0.0, 0.0, 0.0])
    vecs = torch.tensor([[1.0, 0, 0, 0], [2.0, 0, 0, 0], [1.0, 0, 0, 0], [0.0, 0, 0, 0]])
    _, idx = model.retrieve(state, vecs, k=3)
    assert idx.tolist() == [1, 0, 2]
    _, idx = model.retrieve(state, vecs, k=2, exclude=torch.tensor([False, True, False, False]))
    assert idx.tolist() == [0, 2]


@pytest.mark.parametrize("attention", ["softmax", "hstu"])
@pytest.mark.parametrize("with_time", [False, True])
def test_no_position_sees_a_later_one(attention, with_time):
    """Changing event j (entity, action, time) must leave states 0..j-1 unchanged and change j."""
    torch.manual_seed(0)
    model = UnifiedModel(content_config(attention=attention)).eval()
    h = event_history(B=2, L=8)
    h.lengths = torch.tensor([8, 8])
    if not with_time:
        h.times = None
    base = model.encode(h)
    for j in (1, 4, 7):
        e = h.entities
        g = torch.Generator().manual_seed(j)
        ids, ct, au, tx = e.ids.clone(), e.content_type.clone(), e.author.clone(), e.text.clone()
        ids[:, j] = (ids[:, j] + 3) % 21
        ct[:, j] = (ct[:, j] % 5) + 1
        au[:, j] = (au[:, j] % 5) + 1
        tx[:, j:] = torch.randn(tx[:, j:].shape, generator=g)
        acts = h.actions.clone()
        acts[:, j:] = (acts[:, j:] % 15) + 1
        times = None
        if h.times is not None:
            times = h.times.clone()
            times[:, j:] += 1e6
        h2 = History(EntityFeatures(ids, ct, au, tx), h.lengths, acts, times)
        out = model.encode(h2)
        assert torch.allclose(out[:, :j], base[:, :j], atol=1e-5), f"position < {j} saw position {j}"
        assert not torch.allclose(out[:, j], base[:, j], atol=1e-4)


@pytest.mark.parametrize("emb_scale", [False, True])
def test_id_only_model_and_sasrec_layout_are_causal(emb_scale):
    from townsquare.rec.baselines import SASRec, SASRecConfig

    torch.manual_seed(0)
    model = UnifiedModel(RecConfig(n_ids=30, max_len=10, d_model=8, dropout=0.0, emb_dropout=0.0,
                                   emb_scale=emb_scale)).eval()
    a = history_from_ids([[1, 2, 3, 4, 5, 6]], 10)
    b = history_from_ids([[1, 2, 3, 9, 9, 9]], 10)
    sa, sb = model.encode(a), model.encode(b)
    assert torch.allclose(sa[:, :3], sb[:, :3], atol=1e-6)
    assert not torch.allclose(sa[:, 3], sb[:, 3])
    sas = SASRec(SASRecConfig(n_items=30, max_len=10, d_model=8, dropout=0.0)).eval()
    ids_a = torch.tensor([[1, 2, 3, 4, 5, 6, 0, 0]])
    ids_b = torch.tensor([[1, 2, 3, 9, 9, 9, 0, 0]])
    oa, ob = sas.encode(ids_a), sas.encode(ids_b)
    assert torch.allclose(oa[:, :3], ob[:, :3], atol=1e-6)
    assert not torch.allclose(oa[:, 3], ob[:, 3])


def test_sasrec_scores_do_not_depend_on_padding_or_batch_mates():
    """A history's scores are the same alone and in a batch with a longer history (padding is
    never attended to), and the state read is the one after its own last item."""
    from townsquare.rec.baselines import SASRec, SASRecConfig

    torch.manual_seed(0)
    sas = SASRec(SASRecConfig(n_items=30, max_len=10, d_model=8, dropout=0.0)).eval()
    short, long = [4, 7], [1, 2, 3, 5, 6, 8, 9, 11]
    alone = sas.scores([short])
    together = sas.scores([long, short])
    assert torch.allclose(alone[0], together[1], atol=1e-5)
    assert not torch.allclose(together[0], together[1], atol=1e-3)
    assert torch.allclose(sas.scores([long])[0], together[0], atol=1e-5)


def test_new_entity_without_learned_id_is_represented_by_content():
    torch.manual_seed(0)
    model = UnifiedModel(content_config()).eval()
    text = torch.randn(2, TEXT)
    f = EntityFeatures(ids=torch.tensor([0, 0]), content_type=torch.tensor([1, 3]),
                       author=torch.tensor([2, 4]), text=text)
    v = model.entity_vectors(f)
    assert torch.isfinite(v).all() and v.norm(dim=-1).min() > 0.5
    assert not torch.allclose(v[0], v[1])
    # An account entity: its own account id as author, a bio text, content type "account".
    acc = EntityFeatures(ids=torch.tensor([0]), content_type=torch.tensor([CONTENT_TYPE_INDEX["account"]]),
                         author=torch.tensor([3]), text=torch.zeros(1, TEXT))
    assert model.entity_vectors(acc).shape == (1, 16)


def test_config_rejects_nonsense():
    with pytest.raises(ValueError):
        RecConfig(n_ids=0)
    with pytest.raises(ValueError):
        RecConfig(n_ids=3, attention="linear")
    with pytest.raises(ValueError):
        RecConfig(n_ids=3, d_model=10, n_heads=3)


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = UnifiedModel(content_config()).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, {"id_map": {"post:1": 1}})
    loaded, extra = load_checkpoint(path)
    assert extra == {"id_map": {"post:1": 1}}
    assert loaded.cfg == model.cfg
    h = event_history()
    assert torch.allclose(loaded.encode(h), model.encode(h))
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError):
        load_checkpoint(tmp_path / "bad.pt")


def test_context_features_are_additive_and_off_by_default():
    """The id-only path is unchanged (no context layer); with ``context_dim`` the heads use it."""
    from townsquare.rec.model import RecConfig, UnifiedModel

    plain = UnifiedModel(RecConfig(n_ids=20, d_model=16))
    assert plain.head_ctx is None and not any("head_ctx" in k for k in plain.state_dict())
    torch.manual_seed(0)
    model = UnifiedModel(RecConfig(n_ids=20, d_model=16, context_dim=3)).eval()
    state, cand = torch.randn(16), torch.randn(4, 16)
    a = model.score_actions(state, cand, torch.zeros(4, 3))
    b = model.score_actions(state, cand, torch.tensor([[1.0, 0.0, 0.5]] * 4))
    assert any(not torch.allclose(a[h], b[h]) for h in a)
    assert all(torch.allclose(a[h], model.score_actions(state, cand)[h]) for h in a)  # None = zeros


def test_token_dropout_blanks_inputs_in_training_only_and_never_targets():
    cfg = RecConfig(n_ids=30, max_len=10, d_model=16, n_heads=1, dropout=0.0, emb_dropout=0.0,
                    use_actions=False, similarity="dot", token_dropout=0.5)
    model = UnifiedModel(cfg)
    h = history_from_ids([[1, 2, 3, 4, 5, 6, 7, 8]], cfg.max_len)
    model.eval()
    first = model.encode(h)
    assert torch.equal(first, model.encode(h))            # off at serving time
    model.train()
    torch.manual_seed(0)
    dropped = model.encode(h)
    assert not torch.allclose(dropped, first)             # some events were blanked
    ids = EntityFeatures(ids=torch.arange(1, 31))
    assert torch.equal(model.entity_vectors(ids), model.entity.id_emb.weight[1:])  # targets keep their ids
