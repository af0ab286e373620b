"""The seeded community's hidden side, kept outside the app's tables under ``<data_dir>/sim/``:
the population's preferences (people.npz/json), each seeded post's topic and quality (posts.npz),
and which account is which person (community.json). ``load_simulator`` rebuilds a ``Simulator`` on
top of a seeded database, for the feed benchmark."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.sim.behaviour import PostInfo, Simulator
from townsquare.sim.content import infer_topic
from townsquare.sim.people import Population


def sim_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "sim"


@dataclass
class CommunityTruth:
    population: Population
    account_ids: list[int]  # account id of person i
    post_ids: np.ndarray
    post_topics: np.ndarray
    post_quality: np.ndarray
    meta: dict
    satisfaction: np.ndarray | None = None  # long-term state at the end of the seeded history
    churned: np.ndarray | None = None

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.population.save(folder)
        np.savez_compressed(folder / "posts.npz", post_ids=self.post_ids, topics=self.post_topics,
                            quality=self.post_quality)
        if self.satisfaction is not None and self.churned is not None:
            np.savez_compressed(folder / "state.npz", satisfaction=self.satisfaction, churned=self.churned)
        (folder / "community.json").write_text(json.dumps({**self.meta, "account_ids": self.account_ids}, indent=1))

    def known_posts(self) -> dict[int, tuple[int, float, int]]:
        """post id -> (topic, quality, plan index) for every seeded post."""
        return {int(p): (int(t), float(q), k) for k, (p, t, q) in
                enumerate(zip(self.post_ids, self.post_topics, self.post_quality, strict=True))}

    @classmethod
    def load(cls, folder: Path) -> CommunityTruth:
        if not (folder / "community.json").exists():
            raise FileNotFoundError(f"no seeded community in {folder} (run `townsquare seed` first)")
        meta = json.loads((folder / "community.json").read_text())
        account_ids = meta.pop("account_ids")
        with np.load(folder / "posts.npz") as arrays:
            post_ids, topics, quality = arrays["post_ids"], arrays["topics"], arrays["quality"]
        satisfaction = churned = None
        if (folder / "state.npz").exists():
            with np.load(folder / "state.npz") as state:
                satisfaction, churned = state["satisfaction"], state["churned"]
        return cls(Population.load(folder), account_ids, post_ids, topics, quality, meta, satisfaction, churned)


def _post_infos(rows, known: dict[int, tuple[int, float, int]]) -> list[PostInfo]:
    out = []
    for pid, author, kind, created, text, visibility in rows:
        topic, quality, key = known.get(pid, (infer_topic(text or ""), 0.6, None))
        out.append(PostInfo(pid, author, kind, created, topic, quality, visibility, key))
    return out


def post_loader(session: Session, truth: CommunityTruth | None = None):
    """A ``Simulator.post_loader`` reading posts from the database (topic inferred from text when the
    simulator did not write the post)."""
    from townsquare.social.models import Post

    known = truth.known_posts() if truth is not None else {}

    def load(ids: list[int]) -> list[PostInfo]:
        return _post_infos(session.execute(select(Post.id, Post.author_id, Post.kind, Post.created_at, Post.text,
                                                  Post.visibility).where(Post.id.in_(ids))).all(), known)

    return load


def load_simulator(session: Session, data_dir: Path, seed: int | None = None, *,
                   restore_history: bool = True) -> Simulator:
    """A simulator over the seeded community in this database: its people, posts and current follows;
    with ``restore_history``, also what each person has already seen, liked, reposted and requested
    (from the event log and the tables), so a feed that repeats itself is judged as it should be, and
    their satisfaction and churn at the end of the seeded history."""
    from townsquare.social.models import Event, Follow, FollowRequest, Post, Reaction, Repost

    truth = CommunityTruth.load(sim_dir(data_dir))
    sim = Simulator(truth.population, truth.account_ids, seed=truth.meta["seed"] if seed is None else seed,
                    post_loader=post_loader(session, truth))
    rows = session.execute(select(Post.id, Post.author_id, Post.kind, Post.created_at, Post.text, Post.visibility)
                           .where(Post.deleted_at.is_(None), Post.removed_at.is_(None)))
    infos = _post_infos(rows, truth.known_posts())
    sim.add_posts(infos)
    sim.set_following(session.execute(select(Follow.follower_id, Follow.followee_id)).all())
    if restore_history:
        if truth.satisfaction is not None and len(truth.satisfaction) == len(truth.population):
            sim.satisfaction[:] = truth.satisfaction
            sim.churned[:] = truth.churned
        index = sim.index_of
        for sets, query in (
            (sim.seen, select(Event.actor_id, Event.entity_id).where(Event.action == "impression")),
            (sim.liked, select(Reaction.account_id, Reaction.post_id)),
            (sim.reposted, select(Repost.account_id, Repost.post_id)),
        ):
            for actor, post in session.execute(query.execution_options(yield_per=50_000)):
                i = index.get(actor)
                if i is not None and post is not None:
                    sets[i].add(post)
        for requester, target in session.execute(select(FollowRequest.requester_id, FollowRequest.target_id)):
            if requester in index and target in index:
                sim.requested.add((index[requester], index[target]))
    return sim
