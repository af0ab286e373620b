"""Baselines for the sequential benchmark: popularity and SASRec+.

SASRec+ is SASRec (Kang & McAuley 2018) trained with full cross-entropy over all items, as in
Klenitskiy & Vasilev, "Turning Dross Into Gold Loss: is BERT4Rec really better than SASRec?"
(RecSys 2023), following that paper's public implementation: 2 blocks, 1 head, d = 64, learned
absolute positions counted from the start of the window, dropout 0.1, right-padded windows of the
last ``max_len`` items (so the causal mask alone keeps every real position away from padding),
N(0, 0.02) initialisation, embeddings scaled by sqrt(d), tied input/output item embeddings,
dot-product logits, every position trained, Adam lr 1e-3, batch 128 drawn uniformly at random,
no gradient clipping.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Popularity:
    """Scores every item by its number of occurrences in the histories it was fitted on."""

    def __init__(self, n_items: int) -> None:
        self.counts = torch.zeros(n_items)

    def fit(self, sequences: list[list[int]]) -> Popularity:
        flat = torch.tensor([i for s in sequences for i in s], dtype=torch.long)
        self.counts = torch.bincount(flat - 1, minlength=len(self.counts)).float()
        return self

    def scores(self, histories: list[list[int]]) -> Tensor:
        return self.counts[None, :].expand(len(histories), -1)


@dataclass
class SASRecConfig:
    n_items: int
    max_len: int = 50
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 1
    dropout: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


class SASRecBlock(nn.Module):
    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.ln1 = nn.LayerNorm(d, eps=1e-8)
        self.attn = nn.MultiheadAttention(d, cfg.n_heads, dropout=cfg.dropout, batch_first=True)
        self.ln2 = nn.LayerNorm(d, eps=1e-8)
        self.ffn = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Dropout(cfg.dropout), nn.Linear(d, d),
                                 nn.Dropout(cfg.dropout))

    def forward(self, x: Tensor, attn_mask: Tensor, keep: Tensor) -> Tensor:
        q = self.ln1(x)
        y, _ = self.attn(q, x, x, attn_mask=attn_mask, need_weights=False)
        h = self.ln2(q + y)
        return (h + self.ffn(h)) * keep     # as the reference port: the residual starts from LN(x)


class SASRec(nn.Module):
    """SASRec with the layer layout of the reference PyTorch port (LayerNorm on the query, residual
    from it; LayerNorm before the point-wise feed-forward (ReLU), residual from the normalised input;
    padding rows zeroed after every block)."""

    def __init__(self, cfg: SASRecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.item_emb = nn.Embedding(cfg.n_items + 1, cfg.d_model, padding_idx=0)
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(SASRecBlock(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model, eps=1e-8)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()

    def encode(self, ids: Tensor) -> Tensor:
        """ids: right-padded [B, L] (0 = padding, after the real items). Returns states [B, L, d]."""
        B, L = ids.shape
        keep = (ids > 0).unsqueeze(-1).float()
        x = self.item_emb(ids) * self.cfg.d_model ** 0.5 + self.pos_emb(torch.arange(L))[None]
        x = self.drop(x) * keep
        # True = may not attend. Padding only ever follows the real items, so this causal mask
        # alone keeps every real position from seeing it.
        mask = ~torch.ones(L, L, dtype=torch.bool).tril()
        for b in self.blocks:
            x = b(x, mask, keep)
        return self.ln_f(x)

    def logits(self, states: Tensor) -> Tensor:
        return states @ self.item_emb.weight[1:].T

    def loss(self, windows: list[list[int]]) -> Tensor:
        """Full cross-entropy over all items at every non-padding position."""
        ids, tg = right_pad([w[:-1] for w in windows], self.cfg.max_len), right_pad([w[1:] for w in windows], self.cfg.max_len)
        states = self.encode(ids)
        valid = tg > 0
        return F.cross_entropy(self.logits(states[valid]), tg[valid] - 1)

    @torch.no_grad()
    def scores(self, histories: list[list[int]]) -> Tensor:
        ids = right_pad(histories, self.cfg.max_len)
        last = (ids > 0).sum(1).clamp(min=1) - 1
        return self.logits(self.encode(ids)[torch.arange(len(ids)), last])


def right_pad(seqs: list[list[int]], max_len: int) -> Tensor:
    """Right-padded [B, L] of the last ``max_len`` items, L = the longest kept sequence."""
    seqs = [s[-max_len:] for s in seqs]
    L = max(1, max(len(s) for s in seqs))
    out = torch.zeros(len(seqs), L, dtype=torch.long)
    for i, s in enumerate(seqs):
        if s:
            out[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    return out
