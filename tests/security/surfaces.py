"""Every surface that can show content, as a table: each reads what one viewer gets there, as text.

To add a surface (a new page, endpoint, tool or export), add a ``Surface`` to ``SURFACES``: a function
``read(scene, who) -> str`` returning everything the viewer receives (bodies of every response,
whatever the status), whether it honours mutes (``filtered``), narrower audiences where the surface
is stricter than the general rule (``strict``), and a few markers it must show to someone allowed
(``shows``: the positive controls that prove the surface was really exercised).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from scripted_llm import ScriptedLLM

from townsquare.assistant.tools import ToolContext, run_tool
from townsquare.errors import TownsquareError
from townsquare.social.models import Account

from .conftest import Who
from .scene import (
    AI_NAME,
    BIO_O,
    BIO_P,
    COM,
    DM,
    FOL_O,
    FOL_P,
    INSTR,
    PUB_O,
    PUB_P,
    REPLY,
    TAG_FOL_O,
    TAG_FOL_P,
    TAG_PUB_O,
    TAG_PUB_P,
    Scene,
)

HTML = {"accept": "text/html"}
TAGS = (TAG_PUB_O, TAG_FOL_O, TAG_PUB_P, TAG_FOL_P)


@dataclass(frozen=True)
class Surface:
    name: str
    read: Callable[[Scene, Who], str]
    filtered: bool = False  # hides the content of accounts the viewer muted
    strict: dict[str, frozenset[str]] = field(default_factory=dict)
    shows: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _without_echo(text: str, status: int, *asked: str) -> str:
    """An error may repeat what the viewer asked for ("no AI named x"): that is not a leak, so the words
    of the request are taken out of error bodies (successful bodies are checked whole)."""
    if status < 400:
        return text
    for part in re.split(r"[/?=&:\s]+", " ".join(asked)):
        if len(part) > 3:
            text = text.replace(part, "")
    return text


def _get(scene: Scene, who: Who, path: str, *, page: bool = False, **params) -> str:
    headers = who.headers | (HTML if page else {})
    response = scene.town.client.get(path, params=params or None, headers=headers, follow_redirects=False)
    body = _without_echo(response.text, response.status_code, path, *map(str, params.values()))
    return f"[{response.status_code}] {body}"


def _gets(scene: Scene, who: Who, paths, **kw) -> str:
    return "\n".join(_get(scene, who, p, **kw) for p in paths)


def _export(scene: Scene, who: Who) -> str:
    """Everything in the viewer's data export (Settings → Account), unzipped."""
    import io
    import zipfile

    response = scene.town.client.get("/settings/export.zip", headers=who.headers | HTML, follow_redirects=False)
    if response.status_code != 200:
        return f"[{response.status_code}] {response.text}"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist() if n.endswith((".json", ".txt")))


def _post_ids(scene: Scene) -> list[str]:
    return list(scene.posts.values())


def _tool(scene: Scene, who: Who, name: str, arguments: dict) -> str:
    if who.id is None:
        return ""  # the assistant is for signed-in people only
    with scene.town.app.state.db.session() as s:
        try:
            result = run_tool(ToolContext(s, s.get(Account, who.id), scene.town.app.state.settings), name, arguments)
        except TownsquareError as exc:
            return f"error: {exc.message}"
        return result.text + json.dumps(result.data, default=str)


def _conversations(scene: Scene, who: Who) -> str:
    listing = scene.town.client.get("/api/conversations", headers=who.headers)
    out = [listing.text]
    for item in listing.json().get("items", []) if listing.status_code == 200 else []:
        out.append(_get(scene, who, f"/api/conversations/{item['id']}/messages"))
    return "\n".join(out)


def _media(scene: Scene, who: Who) -> str:
    response = scene.town.client.get(scene.media_url, headers=who.headers)
    return scene.media_marker if response.status_code == 200 else f"[{response.status_code}]"


def _studio(scene: Scene, who: Who) -> str:
    slug, ai_id = scene.ai["slug"], scene.ai["id"]
    return _gets(scene, who, ["/api/studio/creators/olive/ais", f"/api/studio/creators/olive/ais/{slug}",
                              f"/api/studio/creators/olive/ais/{slug}/chat", "/api/studio/discover",
                              "/api/studio/ais", f"/api/studio/ais/{ai_id}/card", f"/api/studio/ais/{ai_id}/dashboard"])


class _RecordingLLM(ScriptedLLM):
    """Answers with a fixed text and keeps every prompt it was given."""

    def __init__(self) -> None:
        super().__init__(answer="zzmodelanswer")
        self.prompts: list[str] = []

    def chat(self, messages, stream=False, **kwargs):
        self.prompts.append(json.dumps(messages))
        return super().chat(messages, stream=stream, **kwargs)


def _creator_chat(scene: Scene, who: Who) -> str:
    """A fan asks olive's AI through /v1: the answer and every prompt the model got. The instructions
    are meant for the model (whether it repeats them is another check), so they are left out here;
    posts must never reach it unless public."""
    llm = _RecordingLLM()
    scene.town.app.state.llms["creator"] = llm
    out = []
    for question in ("what is the morning news?", "what are the plans for friends?"):
        response = scene.town.client.post("/v1/chat/completions", headers=who.headers, json={
            "model": scene.ai["model"], "messages": [{"role": "user", "content": question}]})
        out.append(f"[{response.status_code}] " + _without_echo(response.text, response.status_code, scene.ai["model"]))
    return "\n".join(out) + "\n".join(llm.prompts).replace(INSTR, "")


def _assistant_v1(scene: Scene, who: Who) -> str:
    scene.town.app.state.llms["assistant"] = ScriptedLLM([("search_posts", {"query": "zz"})],
                                                         answer="Here is what I found.")
    response = scene.town.client.post("/v1/chat/completions", headers=who.headers, json={
        "model": "assistant", "messages": [{"role": "user", "content": "find posts about zz"}]})
    return f"[{response.status_code}] {response.text}"


def _tag_pages(scene: Scene, who: Who) -> str:
    """Each tag's page names the tag the viewer asked for (an echo, so taken out); the rest is checked."""
    return "\n".join(_get(scene, who, f"/tags/{tag}", page=True).replace(tag, "") for tag in TAGS)


def _assistant_lists(scene: Scene, who: Who) -> str:
    return "\n".join([_tool(scene, who, "search_posts", {"query": "zz"}),
                      _tool(scene, who, "catch_me_up", {"hours": 48}),
                      _tool(scene, who, "read_notifications", {}),
                      _tool(scene, who, "suggest_follows", {}),
                      _tool(scene, who, "search_people", {"query": "zzbio"})])


def _assistant_by_id(scene: Scene, who: Who) -> str:
    return "\n".join(_tool(scene, who, tool, {"post_id": post_id})
                     for post_id in _post_ids(scene) for tool in ("ask_about_post", "explain_post"))


def _masto_context(scene: Scene, who: Who) -> str:
    """Each post and its thread (comments as replies) through the Mastodon API."""
    return _gets(scene, who, [f"/api/v1/statuses/{i}" for i in _post_ids(scene)]
                 + [f"/api/v1/statuses/{i}/context" for i in _post_ids(scene)])


def _masto_ids(scene: Scene, who: Who) -> str:
    """Ids of other kinds (comments, reposts, messages: 10^17 ranges) asked for directly, and the
    multi-status read: comments of the followers-only post and the direct message."""
    out = []
    for n in range(1, 8):
        for kind in range(1, 4):
            out.append(_get(scene, who, f"/api/v1/statuses/{kind * 10**17 + n}"))
    out.append(_get(scene, who, "/api/v1/statuses", **{"id[]": [str(10**17 + n) for n in range(1, 6)]}))
    return "\n".join(out)


def _masto_conversations(scene: Scene, who: Who) -> str:
    return _gets(scene, who, ["/api/v1/conversations", "/api/v1/timelines/direct"])


MASTODON_SURFACES: list[Surface] = [
    Surface("mastodon: statuses and threads by id", _masto_context,
            shows={"fran": (PUB_O, FOL_O, PUB_P, FOL_P, COM, REPLY), "sam": (PUB_O, PUB_P), "anon": (PUB_O,),
                   "mona": (PUB_O,)}),
    Surface("mastodon: comment, repost and message ids", _masto_ids, shows={"fran": (COM, DM), "olive": (DM, COM)}),
    Surface("mastodon: accounts", lambda sc, w: _gets(sc, w, [
        f"/api/v1/accounts/{sc.who['olive'].sid}", f"/api/v1/accounts/{sc.who['pria'].sid}",
        "/api/v1/accounts/lookup?acct=olive", "/api/v1/accounts/lookup?acct=pria"]),
        shows={"sam": (BIO_O, BIO_P), "bob": (BIO_O,), "anon": (BIO_O,)}),
    Surface("mastodon: account statuses", lambda sc, w: _gets(sc, w, [
        f"/api/v1/accounts/{sc.who['olive'].sid}/statuses", f"/api/v1/accounts/{sc.who['pria'].sid}/statuses"]),
        shows={"fran": (FOL_O, FOL_P), "sam": (PUB_O, PUB_P)}),
    Surface("mastodon: home timeline", lambda sc, w: _get(sc, w, "/api/v1/timelines/home"), filtered=True,
            shows={"fran": (FOL_O, FOL_P)}),
    Surface("mastodon: public and hashtag timelines", lambda sc, w: _gets(
        sc, w, ["/api/v1/timelines/public"] + [f"/api/v1/timelines/tag/{t}" for t in TAGS]), filtered=True,
        shows={"fran": (PUB_O, FOL_O, FOL_P), "anon": (PUB_O, PUB_P)}),
    Surface("mastodon: notifications", lambda sc, w: _get(sc, w, "/api/v1/notifications"), filtered=True,
            shows={"sam": (PUB_O,), "fran": (FOL_O,)}),
    Surface("mastodon: search", lambda sc, w: _gets(sc, w, [
        "/api/v2/search?q=zz", "/api/v2/search?q=tag&type=hashtags", "/api/v2/search?q=zzbio&type=accounts",
        "/api/v1/accounts/search?q=zzbio"]), filtered=True,
        shows={"sam": (PUB_O, PUB_P, BIO_O, TAG_PUB_O), "fran": (FOL_O, FOL_P, TAG_FOL_P)}),
    Surface("mastodon: trends", lambda sc, w: _gets(sc, w, ["/api/v1/trends/statuses", "/api/v1/trends/tags"]),
            filtered=True, shows={"sam": (PUB_O, TAG_PUB_P), "anon": (PUB_P,)}),
    Surface("mastodon: conversations", _masto_conversations, shows={"fran": (DM,), "olive": (DM,)}),
    Surface("mastodon: favourites and reblogs of", lambda sc, w: _gets(sc, w, [
        f"/api/v1/statuses/{i}/{what}" for i in _post_ids(sc) for what in ("favourited_by", "reblogged_by")])),
]

SURFACES: list[Surface] = [
    # --- native API ------------------------------------------------------------------------------
    Surface("api: posts by id", lambda sc, w: _gets(sc, w, [f"/api/posts/{i}" for i in _post_ids(sc)]),
            shows={"fran": (PUB_O, FOL_O, PUB_P, FOL_P), "sam": (PUB_O, PUB_P), "anon": (PUB_O,), "mona": (PUB_O,)}),
    Surface("api: comments", lambda sc, w: _gets(sc, w, [f"/api/posts/{i}/comments" for i in _post_ids(sc)]),
            shows={"fran": (COM, REPLY), "olive": (COM,)}),
    Surface("api: profiles", lambda sc, w: _gets(sc, w, [
        f"/api/accounts/{sc.who['olive'].sid}", f"/api/accounts/{sc.who['pria'].sid}",
        "/api/accounts/lookup?handle=olive", "/api/accounts/lookup?handle=pria"]),
        shows={"sam": (BIO_O, BIO_P), "bob": (BIO_O,), "anon": (BIO_O,)}),
    Surface("api: account posts", lambda sc, w: _gets(sc, w, [
        f"/api/accounts/{sc.who['olive'].sid}/posts", f"/api/accounts/{sc.who['pria'].sid}/posts"]),
        shows={"fran": (FOL_O, FOL_P), "sam": (PUB_O, PUB_P)}),
    Surface("api: home timeline", lambda sc, w: _get(sc, w, "/api/timeline/home"), filtered=True,
            shows={"fran": (PUB_O, FOL_O, FOL_P)}),
    Surface("api: ranked feed", lambda sc, w: _get(sc, w, "/api/feed"), filtered=True,
            shows={"fran": (FOL_O,)}),
    Surface("api: search posts", lambda sc, w: _get(sc, w, "/api/search", q="zz"), filtered=True,
            shows={"sam": (PUB_O, PUB_P), "fran": (FOL_O, FOL_P), "anon": (PUB_O,)}),
    Surface("api: search people", lambda sc, w: _get(sc, w, "/api/search", q="zzbio", type="people"),
            filtered=True, shows={"sam": (BIO_O, BIO_P)}),
    Surface("api: search hashtags", lambda sc, w: _get(sc, w, "/api/search", q="tag", type="hashtags"),
            filtered=True, shows={"fran": (TAG_FOL_O, TAG_FOL_P), "sam": (TAG_PUB_O, TAG_PUB_P)}),
    Surface("api: hashtag posts", lambda sc, w: _gets(sc, w, [f"/api/hashtags/{t}/posts" for t in TAGS]),
            filtered=True, shows={"fran": (FOL_O, FOL_P), "anon": (PUB_O,)}),
    Surface("api: notifications", lambda sc, w: _get(sc, w, "/api/notifications"), filtered=True,
            shows={"sam": (PUB_O,), "fran": (FOL_O,)}),
    Surface("api: conversations", _conversations, shows={"fran": (DM,), "olive": (DM,)}),
    Surface("api: people you may know", lambda sc, w: _get(sc, w, "/api/people/suggestions")),
    Surface("media files", _media, shows={"olive": ("served:",), "fran": ("served:",)}),
    Surface("api: media by id", lambda sc, w: _gets(sc, w, [f"/api/media/{sc.media_url.rsplit('/', 1)[-1]}"])),
    # --- creator AIs ------------------------------------------------------------------------------
    Surface("studio API and card export", _studio, shows={"sam": (AI_NAME,), "olive": (INSTR,)}),
    Surface("/v1/models", lambda sc, w: _get(sc, w, "/v1/models"), shows={"sam": (AI_NAME,)}),
    Surface("creator AI chat and grounding (/v1)", _creator_chat,
            strict={FOL_O: frozenset(), COM: frozenset(), REPLY: frozenset(), DM: frozenset()},
            shows={"sam": (PUB_O,), "fran": (PUB_O,)}),
    # --- the assistant ----------------------------------------------------------------------------
    Surface("assistant tools: lists", _assistant_lists, filtered=True, shows={"sam": (PUB_O,), "fran": (FOL_O, FOL_P)}),
    Surface("assistant tools: a post by id", _assistant_by_id,
            shows={"sam": (PUB_O,), "fran": (FOL_O, COM), "mona": (PUB_O,)}),
    Surface("assistant (/v1)", _assistant_v1, filtered=True, shows={"sam": (PUB_O,), "fran": (FOL_O,)}),
    # --- web pages --------------------------------------------------------------------------------
    Surface("page: profiles", lambda sc, w: _gets(sc, w, ["/@olive", "/@pria", "/@olive/followers",
                                                          "/@pria/following"], page=True),
            shows={"sam": (BIO_O, PUB_O), "fran": (FOL_O, FOL_P), "anon": (BIO_O,)}),
    Surface("page: posts", lambda sc, w: _gets(sc, w, [f"/p/{i}" for i in _post_ids(sc)], page=True),
            shows={"fran": (FOL_O, COM, REPLY), "anon": (PUB_O,)}),
    Surface("page: search", lambda sc, w: _gets(sc, w, ["/search?q=zz", "/search?q=tag", "/search?q=olive&tab=people",
                                                        "/search?q=pria&tab=people"], page=True),
            filtered=True, shows={"sam": (PUB_O, TAG_PUB_O), "fran": (FOL_O, TAG_FOL_P)}),
    Surface("page: hashtags", _tag_pages, filtered=True,
            shows={"fran": (FOL_O, FOL_P), "anon": (PUB_O,)}),
    Surface("page: home and for-you", lambda sc, w: _gets(sc, w, ["/", "/for-you", "/following"], page=True),
            filtered=True, shows={"fran": (FOL_O, FOL_P)}),
    Surface("page: people you may know", lambda sc, w: _get(sc, w, "/people/suggested", page=True)),
    Surface("data export", _export, shows={"olive": (PUB_O, FOL_O, DM), "fran": (DM,)}),
    Surface("page: notifications", lambda sc, w: _get(sc, w, "/notifications", page=True), filtered=True,
            shows={"sam": (PUB_O,), "fran": (FOL_O,)}),
    Surface("page: messages", lambda sc, w: _gets(sc, w, ["/messages", "/messages/olive", "/messages/fran"],
                                                  page=True), shows={"fran": (DM,), "olive": (DM,)}),
    Surface("page: creator AI", lambda sc, w: _gets(sc, w, ["/@olive/ai", f"/@olive/ai/{sc.ai['slug']}",
                                                            "/studio", f"/studio/{sc.ai['id']}"], page=True),
            shows={"sam": (AI_NAME,), "olive": (INSTR,)}),
] + MASTODON_SURFACES
