"""The database-free parts of the synthetic community: people, graph, posts, media."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pytest

from townsquare.sim.content import infer_topic, plan_posts
from townsquare.sim.graph import generate_graph
from townsquare.sim.media import MediaPool, make_photo, make_video, stored_media_path
from townsquare.sim.people import Population, generate_people
from townsquare.sim.vocab import KINDS, N_TOPICS, TOPICS

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_people_are_deterministic_and_believable():
    a, b = generate_people(120, seed=3), generate_people(120, seed=3)
    assert a.handles == b.handles and a.bios == b.bios
    assert np.array_equal(a.topics, b.topics)
    c = generate_people(120, seed=4)
    assert c.handles != a.handles
    assert a.handles[0] == "demo"
    assert len(set(a.handles)) == len(a.handles)
    assert all(h.isascii() and h.replace("_", "").isalnum() and h == h.lower() and 3 <= len(h) <= 30 for h in a.handles)
    assert np.allclose(a.topics.sum(axis=1), 1.0) and np.allclose(a.kinds.sum(axis=1), 1.0)
    # Sparse: the top three topics carry most of a person's interest.
    top3 = np.sort(a.topics, axis=1)[:, -3:].sum(axis=1)
    assert np.median(top3[1:]) > 0.8
    # Heavy-tailed posting: the top 10% of people post far more than the median person.
    assert np.quantile(a.creator, 0.9) > 3 * np.median(a.creator)


def test_population_round_trips_through_files(tmp_path):
    pop = generate_people(40, seed=1)
    pop.save(tmp_path)
    back = Population.load(tmp_path)
    assert back.handles == pop.handles and np.array_equal(back.topics, pop.topics)
    assert np.array_equal(back.is_private, pop.is_private)


def test_follows_show_homophily_and_popularity():
    pop = generate_people(400, seed=5)
    graph = generate_graph(pop, seed=5)
    unit = pop.topics / np.linalg.norm(pop.topics, axis=1, keepdims=True)
    pairs = np.array(sorted(graph.follows))
    follow_sim = (unit[pairs[:, 0]] * unit[pairs[:, 1]]).sum(axis=1).mean()
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 400, 5000), rng.integers(0, 400, 5000)
    keep = a != b
    random_sim = (unit[a[keep]] * unit[b[keep]]).sum(axis=1).mean()
    assert follow_sim > 1.5 * random_sim
    # Popularity is skewed: the most followed 5% hold a large share of all follows.
    in_degree = np.bincount(pairs[:, 1], minlength=400)
    top = np.sort(in_degree)[::-1][:20].sum()
    assert top > 3 * 20 * in_degree.mean()
    # Private accounts have pending requests; blocked pairs never follow each other.
    assert graph.follow_requests and all(pop.is_private[t] for _, t in graph.follow_requests)
    for x, y in graph.blocks:
        assert (x, y) not in graph.follows and (y, x) not in graph.follows
    # Friends of friends: many follows close a triangle.
    following = graph.following(400)
    closed = sum(1 for x, y in graph.follows if following[x] & following[y] - {x, y})
    assert closed / len(graph.follows) > 0.3
    # The demo account follows a good set of people.
    assert len(following[0]) >= 30


def test_posts_cover_every_kind_and_vary():
    pop = generate_people(80, seed=2)
    plans = plan_posts(pop, seed=2, count=800, start=START, days=7, media_variants=4)
    assert len(plans) == 800
    assert {p.kind for p in plans} == set(KINDS)
    assert {p.visibility for p in plans} == {"public", "followers"}
    assert all(p.link_url and p.link_title for p in plans if p.kind == "link")
    assert len({p.text for p in plans}) > 0.9 * len(plans)  # rarely an exact repeat
    assert [p.created_at for p in plans] == sorted(p.created_at for p in plans)
    assert all(START <= p.created_at < datetime(2026, 1, 8, tzinfo=UTC) for p in plans)
    # Authors post about what they like.
    match = np.mean([pop.topics[p.author, p.topic] > 0.1 for p in plans])
    assert match > 0.8
    # Text is topical enough that the topic can be read back from it most of the time.
    inferred = np.mean([infer_topic(p.text) == p.topic for p in plans])
    assert inferred > 0.6
    assert plans == plan_posts(pop, seed=2, count=800, start=START, days=7, media_variants=4)


def test_generated_media_decode_and_are_content_addressed(tmp_path):
    from PIL import Image

    photo = Image.open(io.BytesIO(make_photo(1, 0)))
    assert photo.format == "JPEG" and photo.size == (320, 240)
    assert make_photo(1, 0) == make_photo(1, 0) and make_photo(1, 0) != make_photo(2, 0)
    video = make_video(4, 0)
    assert video[4:8] == b"ftyp"  # an MP4 container
    pool = MediaPool(tmp_path, photo_variants=2, video_variants=1)
    f = pool.get("video", 4, 7)
    path = stored_media_path(tmp_path, f.sha256, f.ext)
    assert path.read_bytes() == video and f.mime_type == "video/mp4"
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    assert tuple(meta["size"]) == (f.width, f.height)
    assert sum(1 for _ in reader) >= 10


@pytest.mark.parametrize("topic", [0, N_TOPICS - 1])
def test_topics_have_enough_vocabulary(topic):
    t = TOPICS[topic]
    assert len(t.things) >= 10 and len(t.did) >= 5 and len(t.hashtags) >= 4 and abs(sum(t.kinds) - 1) < 1e-9
