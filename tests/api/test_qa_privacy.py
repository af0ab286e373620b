"""QA: a followers-only post of a private account never reaches a non-follower, whatever the path.

alice is private and posts followers-only (text with a hashtag and a mention of eve, and a photo
with alt text); bob follows her; eve does not. Every read path is tried as eve (and signed out):
the post, its comments, reactions, reposts, her profile, timelines, search, hashtags,
notifications, the media behind the photo, the feed, the assistant's tools, creator-AI grounding,
the OpenAI-compatible API and the web pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from scripted_llm import ScriptedLLM

SECRET = "moonlit quokka rendezvous"
ALT = "hidden cove map"


@dataclass
class Scene:
    alice: object
    bob: object
    eve: object
    post_id: str
    photo_id: str
    media_id: str
    media_url: str


@pytest.fixture
def scene(client, signup, follow, png) -> Scene:
    alice, bob, eve = signup("alice_p"), signup("bob_f"), signup("eve_s")
    assert client.patch("/api/me", json={"is_private": True}, headers=alice.headers).status_code == 200
    follow(bob, alice)
    made = client.post("/api/posts", json={"text": f"{SECRET} #quokkaclub with @eve_s and @bob_f",
                                           "visibility": "followers"}, headers=alice.headers)
    assert made.status_code == 201, made.text
    media = client.post("/api/media", files={"file": ("p.png", png(), "image/png")}, data={"description": ALT},
                        headers=alice.headers)
    assert media.status_code == 201, media.text
    photo = client.post("/api/posts", json={"kind": "photo", "text": "#quokkaclub pic", "visibility": "followers",
                                            "media_ids": [media.json()["id"]]}, headers=alice.headers)
    assert photo.status_code == 201, photo.text
    # bob (a follower) engages: a comment that mentions eve, and a like.
    comment = client.post(f"/api/posts/{made.json()['id']}/comments",
                          json={"text": f"@eve_s you should see this {SECRET}"}, headers=bob.headers)
    assert comment.status_code == 201, comment.text
    assert client.post(f"/api/posts/{made.json()['id']}/reaction", headers=bob.headers).status_code in (200, 201)
    return Scene(alice, bob, eve, made.json()["id"], photo.json()["id"], media.json()["id"], media.json()["url"])


def _leaks(response) -> bool:
    return SECRET in response.text or ALT in response.text


def test_the_follower_sees_it(client, scene):
    """The control: the setup is right, so the negative checks below mean something."""
    assert client.get(f"/api/posts/{scene.post_id}", headers=scene.bob.headers).status_code == 200
    assert SECRET in client.get("/api/timeline/home", headers=scene.bob.headers).text
    assert SECRET in client.get("/api/hashtags/quokkaclub/posts", headers=scene.bob.headers).text
    assert client.get(f"/api/media/{scene.media_id}", headers=scene.alice.headers).status_code == 200
    assert client.get(f"/api/media/{scene.media_id}", headers=scene.bob.headers).status_code == 200


@pytest.mark.parametrize("who", ["eve", "nobody"])
def test_direct_reads_answer_404(client, scene, who):
    headers = scene.eve.headers if who == "eve" else {}
    for path in [f"/api/posts/{scene.post_id}", f"/api/posts/{scene.post_id}/comments",
                 f"/api/posts/{scene.photo_id}", f"/api/media/{scene.media_id}"]:
        response = client.get(path, headers=headers)
        assert response.status_code in (401, 404), (path, response.status_code)
        assert not _leaks(response), path


def test_media_metadata_of_a_hidden_photo_is_not_served(client, scene):
    """The id -> url/alt-text lookup must not open a followers-only photo to strangers."""
    for headers in (scene.eve.headers, {}):
        response = client.get(f"/api/media/{scene.media_id}", headers=headers)
        assert response.status_code == 404, response.text
        assert ALT not in response.text and scene.media_url not in response.text


def test_writes_on_the_post_answer_404_and_change_nothing(client, scene):
    pid = scene.post_id
    before = client.get(f"/api/posts/{pid}", headers=scene.alice.headers).json()
    attempts = [
        client.post(f"/api/posts/{pid}/comments", json={"text": "let me in"}, headers=scene.eve.headers),
        client.post(f"/api/posts/{pid}/reaction", headers=scene.eve.headers),
        client.delete(f"/api/posts/{pid}/reaction", headers=scene.eve.headers),
        client.post(f"/api/posts/{pid}/repost", headers=scene.eve.headers),
        client.patch(f"/api/posts/{pid}", json={"text": "mine now"}, headers=scene.eve.headers),
        client.delete(f"/api/posts/{pid}", headers=scene.eve.headers),
        client.post("/api/reports", json={"post_id": pid, "reason": "spam"}, headers=scene.eve.headers),
    ]
    for response in attempts:
        assert response.status_code in (404, 422), (response.request.url, response.status_code, response.text)
        assert not _leaks(response)
    after = client.get(f"/api/posts/{pid}", headers=scene.alice.headers).json()
    assert (after["like_count"], after["comment_count"], after["repost_count"], after["text"]) == (
        before["like_count"], before["comment_count"], before["repost_count"], before["text"])


def test_even_a_follower_cannot_repost_it_to_strangers(client, scene, follow):
    reposted = client.post(f"/api/posts/{scene.post_id}/repost", headers=scene.bob.headers)
    assert reposted.status_code == 422
    follow(scene.eve, scene.bob)  # eve follows bob: a repost by bob would land in her timeline
    assert not _leaks(client.get("/api/timeline/home", headers=scene.eve.headers))


def test_lists_search_hashtags_and_profiles(client, scene):
    alice_id = scene.alice.id
    for headers in (scene.eve.headers, {}):
        for path in [f"/api/accounts/{alice_id}/posts", "/api/search?q=quokka&type=posts",
                     "/api/search?q=%23quokkaclub&type=posts", "/api/search?q=quokkaclub&type=hashtags",
                     "/api/hashtags/quokkaclub/posts", f"/api/search?q={SECRET.split()[0]}"]:
            response = client.get(path, headers=headers)
            assert response.status_code in (200, 401), (path, response.status_code)
            assert not _leaks(response), path
        info = client.get("/api/hashtags/quokkaclub", headers=headers)
        assert info.status_code in (200, 401)
        if info.status_code == 200:
            assert info.json()["post_count"] == 0, info.json()
    assert not _leaks(client.get("/api/timeline/home", headers=scene.eve.headers))


def test_mentions_of_a_stranger_notify_nobody(client, scene):
    """alice's post and bob's comment both mention eve; eve may not see the post, so no notification."""
    notes = client.get("/api/notifications", headers=scene.eve.headers)
    assert notes.status_code == 200
    assert notes.json()["items"] == [], notes.json()
    assert client.get("/api/notifications/unread_count", headers=scene.eve.headers).json()["unread_count"] == 0


def test_feed_never_serves_it(client, scene):
    for _ in range(2):
        response = client.get("/api/feed?limit=50", headers=scene.eve.headers)
        assert response.status_code == 200, response.text
        assert not _leaks(response)
    assert client.get("/api/feed").status_code == 401


def test_web_pages(client, scene):
    for path in [f"/posts/{scene.post_id}", f"/p/{scene.post_id}", "/@alice_p", "/tags/quokkaclub",
                 "/search?q=quokka", f"/posts/{scene.photo_id}"]:
        response = client.get(path, headers={"accept": "text/html"})
        assert response.status_code < 500, (path, response.status_code)
        assert not _leaks(response), path


# --- the assistant's tools, called as eve ---------------------------------------------------------


def test_assistant_tools_do_not_reach_it(db, scene):
    from townsquare.assistant.tools import ToolContext, run_tool
    from townsquare.errors import NotFound
    from townsquare.social.models import Account

    with db.session() as session:
        eve = session.get(Account, int(scene.eve.id))
        ctx = ToolContext(session=session, account=eve)
        for name, args in [("search_posts", {"query": "quokka rendezvous"}),
                           ("search_posts", {"query": "#quokkaclub"}),
                           ("catch_me_up", {"hours": 48}),
                           ("read_notifications", {}),
                           ("suggest_follows", {"topic": "quokka"})]:
            result = run_tool(ctx, name, args)
            assert SECRET not in result.text and SECRET not in str(result.data), name
            assert int(scene.post_id) not in result.citations, name
        for name, args in [("ask_about_post", {"post_id": scene.post_id}),
                           ("explain_post", {"post_id": scene.post_id})]:
            with pytest.raises(NotFound):
                run_tool(ctx, name, args)


def test_assistant_side_effects_on_it_are_refused(db, scene):
    from townsquare.assistant import tools
    from townsquare.errors import NotFound
    from townsquare.social.models import Account

    with db.session() as session:
        eve = session.get(Account, int(scene.eve.id))
        ctx = tools.ToolContext(session=session, account=eve)
        with pytest.raises(NotFound):
            tools._prepare_comment(ctx, scene.post_id, "hello")
        with pytest.raises(NotFound):
            tools._prepare_react(ctx, scene.post_id)


# --- creator AI grounding and the OpenAI-compatible API --------------------------------------------


def test_grounding_uses_public_posts_only(db, scene, client, monkeypatch):
    import numpy as np

    from townsquare.studio import grounding

    assert client.post("/api/posts", json={"text": "public quokka facts"},
                       headers=scene.alice.headers).status_code == 201
    monkeypatch.setattr(grounding, "_embed", lambda texts, settings: np.ones((len(texts), 384), dtype=np.float32))
    with db.session() as session:
        posts = grounding.public_posts_of(session, int(scene.alice.id))
        assert [p.text for p in posts] == ["public quokka facts"]
        sources = grounding.find_sources(session, int(scene.alice.id), "quokka rendezvous", min_score=-1.0)
        assert sources and all(SECRET not in s.text for s in sources)


class RecordingLLM(ScriptedLLM):
    """A scripted model that also keeps every prompt it was sent (the prompt is a path too)."""

    def __init__(self, *script, answer: str = "ok"):
        super().__init__(*script, answer=answer)
        self.prompts: list[str] = []

    def chat_with_tools(self, messages, tools, tool_choice="auto", **kwargs):
        self.prompts.append(str(messages))
        return super().chat_with_tools(messages, tools, tool_choice=tool_choice, **kwargs)

    def chat(self, messages, stream=False, **kwargs):
        self.prompts.append(str(messages))
        return super().chat(messages, stream=stream, **kwargs)


def test_openai_assistant_model_does_not_reach_it(app, client, scene):
    llm = RecordingLLM([("search_posts", {"query": "quokka rendezvous"})],
                       [("ask_about_post", {"post_id": scene.post_id})], answer="nothing found")
    app.state.llms["assistant"] = llm
    response = client.post("/v1/chat/completions", json={
        "model": "assistant", "messages": [{"role": "user", "content": "find posts about quokka rendezvous"}]},
        headers=scene.eve.headers)
    assert response.status_code == 200, response.text
    assert not _leaks(response)
    assert all(SECRET not in p for p in llm.prompts)


def test_openai_creator_model_is_grounded_on_public_posts_only(app, client, scene):
    llm = RecordingLLM(answer="I only talk about public things.")
    app.state.llms["creator"] = llm
    created = client.post("/api/studio/ais", json={"name": "Alice AI", "visibility": "public"},
                          headers=scene.alice.headers)
    assert created.status_code == 201, created.text
    model = created.json()["model"]
    for headers in (scene.eve.headers, scene.bob.headers):
        response = client.post("/v1/chat/completions", json={
            "model": model, "messages": [{"role": "user", "content": "tell me about the quokka rendezvous"}]},
            headers=headers)
        assert response.status_code == 200, response.text
        assert not _leaks(response)
    # With no public post on the subject the AI answers without calling the model at all.
    assert all(SECRET not in p for p in llm.prompts)


def test_client_events_cannot_probe_for_it(client, scene):
    """Events about a post eve may not read are refused exactly like events about a post that never
    existed, so the events endpoint is no existence oracle (and no way to feed the model about it)."""
    def send(post_id: str):
        return client.post("/api/events", json={"events": [{"action": "impression", "entity_id": post_id,
                                                            "surface": "home", "position": 0}]},
                           headers=scene.eve.headers)

    hidden, missing = send(scene.post_id), send("987654")
    assert missing.status_code == 422
    assert hidden.status_code == 422 and hidden.json()["error"]["code"] == missing.json()["error"]["code"]
    followed = client.post("/api/events", json={"events": [{"action": "impression", "entity_id": scene.post_id,
                                                            "surface": "home", "position": 0}]},
                           headers=scene.bob.headers)
    assert followed.status_code in (200, 201, 202), followed.text
