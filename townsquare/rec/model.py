"""The unified sequential model: one causal transducer over (entity, action, time) events.

Read top to bottom:

1. Vocabularies (actions, content types, action heads) shared with the app.
2. ``RecConfig``: every size and switch, saved next to the weights.
3. ``EntityFeatures`` / ``History``: the tensors a caller builds.
4. ``EntityEncoder``: entity = learned id embedding (optional) + content tower (text embedding,
   content type, author). An entity without a learned id (a post made a minute ago) is still
   representable from its content alone.
5. ``Block``: a pre-norm causal self-attention block, softmax (SASRec) or pointwise (HSTU), with an
   optional relative time bias.
6. ``UnifiedModel``: token = entity + action + position (+ time gap); ``encode`` gives one state per
   position; the retrieval head scores states against entity vectors (dot or cosine); the action
   heads predict short- and long-term actions for (state, candidate) pairs.
7. Losses: full or sampled softmax (with logQ correction) for retrieval, masked binary
   cross-entropy for the action heads.

Plain PyTorch, CPU friendly; the same model works on id-only public data (one "interact" action,
no time, no content) and on the app's event log.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# ---------------------------------------------------------------------------------------------
# 1. Vocabularies. Index 0 is always "none/padding". Append new names at the end only: saved
#    checkpoints refer to these indices.

ACTIONS: tuple[str, ...] = (
    "none", "interact", "impression", "open", "like", "comment", "share", "dwell", "hide",
    "report", "follow", "profile_visit", "post", "repost", "unfollow", "mute", "block",
)
CONTENT_TYPES: tuple[str, ...] = ("none", "text", "photo", "video", "link", "account")
# Action heads: short term (what happens on this impression) and long term (the network).
HEADS: tuple[str, ...] = (
    "open", "like", "comment", "share", "dwell", "hide_report", "follow_author", "follow_two_way",
)

ACTION_INDEX = {name: i for i, name in enumerate(ACTIONS)}
CONTENT_TYPE_INDEX = {name: i for i, name in enumerate(CONTENT_TYPES)}
HEAD_INDEX = {name: i for i, name in enumerate(HEADS)}


# ---------------------------------------------------------------------------------------------
# 2. Configuration.

@dataclass
class RecConfig:
    """Sizes and switches of the model. ``to_dict``/``from_dict`` round-trip it into checkpoints."""

    n_ids: int = 0              # learned id vocabulary: ids 1..n_ids, 0 = no learned id
    n_authors: int = 0          # author-id vocabulary for the content tower (0 = off); 0 = unknown
    text_dim: int = 0           # fixed text embedding size (MiniLM: 384); 0 = off
    content_types: bool = False  # content-type embedding in the content tower
    use_actions: bool = True    # add an action-type embedding to each token
    time_buckets: int = 0       # log2 time-gap buckets (0 = no time features)
    max_len: int = 50           # history window (most recent events)
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 1
    ffn_mult: int = 4
    dropout: float = 0.2        # in blocks
    emb_dropout: float = 0.2    # on token embeddings
    attention: str = "softmax"  # "softmax" (SASRec) or "hstu" (pointwise SiLU, gated)
    similarity: str = "cosine"  # "cosine" (scaled by 1/temperature) or "dot"
    temperature: float = 0.05
    id_dropout: float = 0.0     # training: hide learned ids so the content tower learns alone
    token_dropout: float = 0.0  # training: blank whole history events (inputs only, never targets)
    id_bias: bool = False       # learned per-id logit bias (a popularity prior; 0 for entities without id)
    head_hidden: int = 64       # action-head MLP width
    emb_scale: bool = False     # scale input entity vectors by sqrt(d_model) (SASRec); output vectors unscaled
    context_dim: int = 0        # per-candidate context features for the action heads (0 = off; app: post age, in-network)
    heads: tuple[str, ...] = field(default_factory=lambda: HEADS)

    def __post_init__(self) -> None:
        if self.attention not in ("softmax", "hstu"):
            raise ValueError(f"attention must be 'softmax' or 'hstu', not {self.attention!r}")
        if self.similarity not in ("cosine", "dot"):
            raise ValueError(f"similarity must be 'cosine' or 'dot', not {self.similarity!r}")
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")
        if not (self.n_ids or self.has_content):
            raise ValueError("an entity needs a learned id (n_ids > 0) or content features")
        self.heads = tuple(self.heads)

    @property
    def has_content(self) -> bool:
        return bool(self.n_authors or self.text_dim or self.content_types)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["heads"] = list(self.heads)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RecConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: (tuple(v) if k == "heads" else v) for k, v in d.items() if k in names})


# ---------------------------------------------------------------------------------------------
# 3. Inputs.

@dataclass
class EntityFeatures:
    """Features of entities, any leading shape ``S`` ([N] for a catalog, [B, L] for histories).

    ids: learned-id index (0 = none: a new entity, or padding). content_type: index into
    CONTENT_TYPES (accounts use "account"). author: author-id index (for an account entity, its own
    account id). text: fixed text embedding (post text, or an account's bio), zeros when absent.
    """

    ids: Tensor                          # long [S]
    content_type: Tensor | None = None   # long [S]
    author: Tensor | None = None         # long [S]
    text: Tensor | None = None           # float [S, text_dim]

    @property
    def shape(self) -> torch.Size:
        return self.ids.shape

    def map(self, fn) -> EntityFeatures:
        """Apply ``fn`` (indexing, ``.to``...) to every present tensor."""
        return EntityFeatures(*(None if t is None else fn(t) for t in
                                (self.ids, self.content_type, self.author, self.text)))

    def __getitem__(self, index) -> EntityFeatures:
        return self.map(lambda t: t[index])


@dataclass
class History:
    """A batch of right-padded histories: event ``t`` of person ``b`` is at ``[b, t]``.

    actions: index into ACTIONS (None = every event is "interact"). times: event time in seconds
    (None = no time). lengths: number of real events per row; positions >= length are padding.
    """

    entities: EntityFeatures             # [B, L]
    lengths: Tensor                      # long [B]
    actions: Tensor | None = None        # long [B, L]
    times: Tensor | None = None          # float [B, L]

    @property
    def mask(self) -> Tensor:
        L = self.entities.shape[1]
        return torch.arange(L, device=self.lengths.device)[None, :] < self.lengths[:, None]


def time_buckets(seconds: Tensor, n: int) -> Tensor:
    """Bucket non-negative time differences on a log2 scale into 1..n-1 (0 is reserved)."""
    b = torch.floor(torch.log2(seconds.clamp(min=0).float() + 1.0)).long() + 1
    return b.clamp(1, n - 1)


# ---------------------------------------------------------------------------------------------
# 4. Entities.

class EntityEncoder(nn.Module):
    """Entity vector = id embedding (when the entity has a learned id) + content tower."""

    def __init__(self, cfg: RecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.id_emb = nn.Embedding(cfg.n_ids + 1, d, padding_idx=0) if cfg.n_ids else None
        self.type_emb = nn.Embedding(len(CONTENT_TYPES), d) if cfg.content_types else None
        self.author_emb = nn.Embedding(cfg.n_authors + 1, d, padding_idx=0) if cfg.n_authors else None
        self.text_proj = nn.Linear(cfg.text_dim, d) if cfg.text_dim else None
        if cfg.has_content:
            self.content_mlp = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, d), nn.GELU(), nn.Linear(d, d))
        if self.id_emb is not None:
            nn.init.normal_(self.id_emb.weight, std=0.02)
            with torch.no_grad():
                self.id_emb.weight[0].zero_()

    def forward(self, f: EntityFeatures) -> Tensor:
        cfg = self.cfg
        out = None
        if self.id_emb is not None:
            ids = f.ids
            if self.training and cfg.id_dropout > 0 and cfg.has_content:
                ids = ids.masked_fill(torch.rand(ids.shape, device=ids.device) < cfg.id_dropout, 0)
            out = self.id_emb(ids)
        if cfg.has_content:
            c = 0
            if self.type_emb is not None and f.content_type is not None:
                c = c + self.type_emb(f.content_type)
            if self.author_emb is not None and f.author is not None:
                c = c + self.author_emb(f.author)
            if self.text_proj is not None and f.text is not None:
                c = c + self.text_proj(f.text.float())
            if isinstance(c, Tensor):
                c = self.content_mlp(c)
                out = c if out is None else out + c
        if out is None:
            raise ValueError("entity features carry nothing this model can use")
        return out


# ---------------------------------------------------------------------------------------------
# 5. Causal self-attention block.

class Block(nn.Module):
    """Pre-norm block: causal self-attention (softmax or HSTU pointwise) + feed-forward."""

    def __init__(self, cfg: RecConfig) -> None:
        super().__init__()
        d, self.h = cfg.d_model, cfg.n_heads
        self.kind = cfg.attention
        self.ln1 = nn.LayerNorm(d)
        # HSTU also projects a gate U; softmax attention needs only Q, K, V.
        self.qkv = nn.Linear(d, (4 if self.kind == "hstu" else 3) * d)
        self.proj = nn.Linear(d, d)
        self.ln_attn = nn.LayerNorm(d) if self.kind == "hstu" else None
        self.ln2 = nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, cfg.ffn_mult * d), nn.GELU(), nn.Dropout(cfg.dropout),
                                 nn.Linear(cfg.ffn_mult * d, d))
        self.drop = nn.Dropout(cfg.dropout)
        self.p_attn = cfg.dropout

    def forward(self, x: Tensor, bias: Tensor | None) -> Tensor:
        """x: [B, L, d]; bias: additive attention bias [B, H, L, L] (causal -inf included) or None."""
        B, L, d = x.shape
        parts = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (t.view(B, L, self.h, d // self.h).transpose(1, 2) for t in parts[:3])
        if self.kind == "softmax":
            p = self.p_attn if self.training else 0.0
            if bias is None:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=p)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p)
            y = y.transpose(1, 2).reshape(B, L, d)
        else:
            # HSTU: pointwise SiLU attention normalised by the number of visible events, gated by U.
            scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.h)
            causal = torch.ones(L, L, dtype=torch.bool, device=x.device).tril()
            if bias is not None:
                scores = scores + bias.masked_fill(~causal, 0.0)
            a = F.silu(scores) * causal / torch.arange(1, L + 1, device=x.device).view(L, 1)
            y = (F.dropout(a, self.p_attn, self.training) @ v).transpose(1, 2).reshape(B, L, d)
            y = self.ln_attn(y) * F.silu(parts[3])
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.ffn(self.ln2(x)))


# ---------------------------------------------------------------------------------------------
# 6. The model.

class UnifiedModel(nn.Module):
    """Encoder over histories, a retrieval head and multi-task action heads that share it."""

    def __init__(self, cfg: RecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.entity = EntityEncoder(cfg)
        self.action_emb = nn.Embedding(len(ACTIONS), d) if cfg.use_actions else None
        self.pos_emb = nn.Embedding(cfg.max_len, d)
        self.gap_emb = nn.Embedding(cfg.time_buckets, d) if cfg.time_buckets else None
        self.time_bias = nn.Embedding(cfg.time_buckets, cfg.n_heads) if cfg.time_buckets else None
        self.emb_drop = nn.Dropout(cfg.emb_dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(d)
        # Action heads: an MLP on (state * candidate, state, candidate); the first layer is split
        # so that the state part is computed once for many candidates.
        hid = cfg.head_hidden
        self.head_inter = nn.Linear(d, hid)
        self.head_state = nn.Linear(d, hid)
        self.head_cand = nn.Linear(d, hid, bias=False)
        # Context of the (person, candidate) pair known at serving time but not in either vector.
        self.head_ctx = nn.Linear(cfg.context_dim, hid, bias=False) if cfg.context_dim else None
        self.head_out = nn.Sequential(nn.GELU(), nn.Linear(hid, len(cfg.heads)))
        self.log_temp = nn.Parameter(torch.tensor(math.log(cfg.temperature)), requires_grad=False)
        self.apply(self._init)
        self.id_bias = nn.Embedding(cfg.n_ids + 1, 1, padding_idx=0) if cfg.id_bias and cfg.n_ids else None
        if self.id_bias is not None:
            nn.init.zeros_(self.id_bias.weight)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.Embedding) and m.padding_idx is not None:
            with torch.no_grad():
                m.weight[m.padding_idx].zero_()

    # -- encoder ---------------------------------------------------------------------------
    def encode(self, h: History) -> Tensor:
        """States [B, L, d]: state t summarises events 0..t (never later ones)."""
        cfg = self.cfg
        B, L = h.entities.shape
        if L > cfg.max_len:
            raise ValueError(f"history length {L} is over max_len {cfg.max_len}; keep the last events")
        x = self.entity(h.entities)
        if self.training and cfg.token_dropout > 0:
            # A regulariser for sparse histories: the model must predict without some past events.
            x = x * (torch.rand(B, L, 1, device=x.device) >= cfg.token_dropout)
        if cfg.emb_scale:
            x = x * math.sqrt(cfg.d_model)
        if self.action_emb is not None:
            acts = h.actions if h.actions is not None else torch.full_like(h.entities.ids, ACTIONS.index("interact"))
            x = x + self.action_emb(acts)
        x = x + self.pos_emb(torch.arange(L, device=x.device))[None]
        bias = None
        if self.gap_emb is not None and h.times is not None:
            t = h.times.float()
            gap = torch.zeros_like(t)
            gap[:, 1:] = t[:, 1:] - t[:, :-1]
            buckets = time_buckets(gap, cfg.time_buckets)
            buckets[:, 0] = 0
            x = x + self.gap_emb(buckets)
            # Relative time bias per head: bucket of (t_query - t_key), causal mask folded in.
            rel = time_buckets(t[:, :, None] - t[:, None, :], cfg.time_buckets)  # [B, L, L]
            bias = self.time_bias(rel).permute(0, 3, 1, 2)                       # [B, H, L, L]
            causal = torch.ones(L, L, dtype=torch.bool, device=x.device).tril()
            bias = bias.masked_fill(~causal, float("-inf"))
        x = self.emb_drop(x * h.mask[..., None])
        for block in self.blocks:
            x = block(x, bias)
        return self.ln_f(x)

    def last_state(self, h: History) -> Tensor:
        """The state after each person's latest event: [B, d]."""
        states = self.encode(h)
        return states[torch.arange(states.shape[0]), (h.lengths - 1).clamp(min=0)]

    # -- retrieval head --------------------------------------------------------------------
    def entity_vectors(self, f: EntityFeatures) -> Tensor:
        """Entity vectors [..., d] in the retrieval space (unit length for cosine)."""
        v = self.entity(f)
        return F.normalize(v, dim=-1) if self.cfg.similarity == "cosine" else v

    def entity_bias(self, f: EntityFeatures) -> Tensor | None:
        """Per-entity logit bias [...] (learned ids only; None when the model has none)."""
        return None if self.id_bias is None else self.id_bias(f.ids).squeeze(-1)

    @torch.no_grad()
    def init_id_bias(self, counts: Tensor) -> None:
        """Start the id bias at the log of the smoothed training frequency of each id (counts [n_ids]
        for ids 1..n_ids), so that training begins from the popularity prior."""
        if self.id_bias is not None:
            c = counts.float() + 1.0
            self.id_bias.weight[1:, 0] = torch.log(c / c.sum()) - torch.log(c / c.sum()).mean()

    def query(self, states: Tensor) -> Tensor:
        return F.normalize(states, dim=-1) if self.cfg.similarity == "cosine" else states

    def retrieval_scores(self, states: Tensor, vectors: Tensor, bias: Tensor | None = None) -> Tensor:
        """Scores [..., N] of states [..., d] against entity vectors [N, d] (+ entity bias [N]):
        the logits of the retrieval softmax."""
        s = self.query(states) @ vectors.T
        if self.cfg.similarity == "cosine":
            s = s / self.log_temp.exp()
        return s if bias is None else s + bias

    def all_id_vectors(self) -> tuple[Tensor, Tensor | None]:
        """Vectors [n_ids, d] and biases of every learned id 1..n_ids (id-only: the whole catalog)."""
        f = EntityFeatures(ids=torch.arange(1, self.cfg.n_ids + 1, device=self.pos_emb.weight.device))
        return self.entity_vectors(f), self.entity_bias(f)

    @torch.no_grad()
    def retrieve(self, states: Tensor, vectors: Tensor, k: int, exclude: Tensor | None = None,
                 bias: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Top-k entities per state. states [B, d] or [d]; vectors [N, d] (+ bias [N] from
        ``entity_bias``); exclude: bool [B, N] or [N] (True = never return, e.g. already seen).
        Returns (scores, indices into vectors). Equal scores keep catalog order (lower index first)."""
        single = states.dim() == 1
        s = self.retrieval_scores(states.view(-1, states.shape[-1]), vectors, bias)
        if exclude is not None:
            s = s.masked_fill(exclude.view(-1, s.shape[1]) if exclude.dim() > 1 else exclude[None], float("-inf"))
        k = min(k, s.shape[1])
        order = torch.sort(s, dim=1, descending=True, stable=True)
        scores, idx = order.values[:, :k], order.indices[:, :k]
        return (scores[0], idx[0]) if single else (scores, idx)

    # -- action heads ----------------------------------------------------------------------
    def action_logits(self, states: Tensor, cand: Tensor, context: Tensor | None = None) -> Tensor:
        """Logits [..., n_heads] for broadcastable states [..., d] and candidate vectors [..., d]
        (+ context [..., context_dim] when the model has context features; None = all zeros)."""
        z = self.head_inter(states * cand) + self.head_state(states) + self.head_cand(cand)
        if self.head_ctx is not None and context is not None:
            z = z + self.head_ctx(context.float())
        return self.head_out(z)

    @torch.no_grad()
    def score_actions(self, state: Tensor, candidates: Tensor | EntityFeatures,
                      context: Tensor | None = None) -> dict[str, Tensor]:
        """Probabilities of every action head for one state [d] (or [B, d]) and N candidates
        ([N, d] vectors from ``entity_vectors`` or EntityFeatures [N]; context [N, context_dim]).
        Returns head -> [N] ([B, N])."""
        cand = self.entity_vectors(candidates) if isinstance(candidates, EntityFeatures) else candidates
        single = state.dim() == 1
        st = state.view(-1, 1, state.shape[-1])                  # [B, 1, d]
        ctx = None if context is None else context[None]
        p = torch.sigmoid(self.action_logits(st, cand[None], ctx))    # [B, N, H]
        if single:
            p = p[0]
        return {name: p[..., i] for i, name in enumerate(self.cfg.heads)}


# ---------------------------------------------------------------------------------------------
# 7. Losses.

def full_softmax_loss(model: UnifiedModel, states: Tensor, targets: Tensor, vectors: Tensor,
                      bias: Tensor | None = None) -> Tensor:
    """Cross-entropy of the target index (into ``vectors`` [N, d]) for each state [P, d]."""
    return F.cross_entropy(model.retrieval_scores(states, vectors, bias), targets)


def sampled_softmax_loss(model: UnifiedModel, states: Tensor, pos_vectors: Tensor, pos_keys: Tensor,
                         neg_vectors: Tensor, neg_keys: Tensor, neg_logq: Tensor,
                         pos_bias: Tensor | None = None, neg_bias: Tensor | None = None) -> Tensor:
    """Sampled softmax with shared negatives and logQ correction.

    states, pos_vectors: [P, d]; neg_vectors: [K, d] shared by every row; neg_logq: [K], log of each
    negative's expected count in the sample (K * q for K draws with probability q): subtracting it
    makes the sampled partition function an unbiased estimate of the full one. Keys identify
    entities, so that a negative equal to the row's positive is masked out.
    """
    q = model.query(states)
    pos = (q * pos_vectors).sum(-1, keepdim=True)           # [P, 1]
    neg = q @ neg_vectors.T                                 # [P, K]
    if model.cfg.similarity == "cosine":
        t = model.log_temp.exp()
        pos, neg = pos / t, neg / t
    if pos_bias is not None:
        pos, neg = pos + pos_bias[:, None], neg + neg_bias[None, :]
    neg = neg - neg_logq[None, :]
    neg = neg.masked_fill(pos_keys[:, None] == neg_keys[None, :], float("-inf"))
    logits = torch.cat([pos, neg], dim=1)
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))


def action_loss(model: UnifiedModel, states: Tensor, cand: Tensor, labels: Tensor,
                context: Tensor | None = None) -> Tensor:
    """Masked binary cross-entropy for the action heads: labels [P, n_heads] in {0, 1}, or < 0
    where unknown (e.g. a long-term outcome not yet observable)."""
    logits = model.action_logits(states, cand, context)
    known = labels >= 0
    if not known.any():
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits[known], labels[known].float())


def history_from_ids(seqs: list[list[int]], max_len: int, device: str | torch.device = "cpu") -> History:
    """Right-padded History from id sequences (id-only data), keeping the last ``max_len`` ids."""
    seqs = [s[-max_len:] for s in seqs]
    L = max(1, max(len(s) for s in seqs))
    ids = torch.zeros(len(seqs), L, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    return History(entities=EntityFeatures(ids=ids.to(device)), lengths=lengths.to(device))
