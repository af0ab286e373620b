"""The assistant's tools: the app's own services, called as the person, never with more rights.

Read-only tools run at once. Tools with a side effect (publish, comment, follow, unfollow, react)
never run from the agent loop: the loop turns them into a pending action that runs only when the
person confirms that exact action (see ``actions.py``). ``prepare`` resolves and checks the
arguments first, so what the person confirms is exactly what will happen.

Every result carries ``data`` (JSON for the model and the API), ``text`` (a readable summary the
answer can use as is) and ``citations`` (post ids it draws on).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import InvalidInput, NotFound
from townsquare.social import accounts, graph, posts, reactions, search, timeline
from townsquare.social import comments as comments_service
from townsquare.social import media as media_service
from townsquare.social import notifications as notifications_service
from townsquare.social.models import Account, Follow, HashtagFollow, Post, PostHashtag, Repost
from townsquare.social.relations import (
    blocked_either_way_ids,
    following_ids,
    is_blocked_either_way,
    is_following,
)

EXCERPT = 140


@dataclass
class ToolContext:
    session: Session
    account: Account
    settings: Any = None
    llm: Any = None  # for tools that write (draft_post); None -> templates
    feed: Any = None  # the app's FeedService (explain_post); None -> explanations from signals only


@dataclass
class ToolResult:
    data: dict
    text: str
    citations: list[int] = field(default_factory=list)


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict
    run: Callable[..., ToolResult]
    side_effect: bool = False
    # For side effects: check and normalise the arguments; returns (arguments, human summary).
    prepare: Callable[..., tuple[dict, str]] | None = None

    def spec(self) -> dict:
        """The tool in OpenAI ``tools`` format."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}


def _excerpt(text: str, limit: int = EXCERPT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _post_data(post: Post) -> dict:
    return {"id": str(post.id), "author": "@" + post.author.handle, "kind": post.kind,
            "text": _excerpt(post.text, 280), "likes": post.like_count, "comments": post.comment_count,
            "created_at": post.created_at.isoformat(), "url": f"/p/{post.id}"}


def _post_line(post: Post) -> str:
    return f"- @{post.author.handle}: \"{_excerpt(post.text)}\" [post {post.id}]"


def _parse_id(value: Any, what: str) -> int:
    try:
        number = int(str(value).strip().lstrip("#"))
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} must be an id like 42, not {value!r}")
    if number <= 0:
        raise InvalidInput(f"{what} must be a positive id")
    return number


def _account_by_handle(ctx: ToolContext, handle: str) -> Account:
    """The active account ``@handle``, unless a block stands between it and the person."""
    if not str(handle or "").strip().lstrip("@"):
        raise InvalidInput("say whose account: a handle like @mia")
    account = accounts.get_account_by_handle(ctx.session, str(handle).strip().lstrip("@"))
    if is_blocked_either_way(ctx.session, ctx.account.id, account.id):
        raise NotFound(f"no account @{account.handle}")
    return account


# --- read-only tools ---------------------------------------------------------------------------


_FILLER = {"find", "search", "show", "me", "posts", "post", "about", "for", "from", "people", "i", "follow",
           "following", "any", "some", "the", "a", "an", "on", "of", "with", "related", "to", "recent", "latest",
           "new", "please", "what", "are", "is", "saying", "anything", "stuff", "things", "topic", "look", "up"}


def clean_query(query: str) -> str:
    """The words that carry the subject: "posts about climbing" -> "climbing"."""
    words = re.findall(r"[\w#@'-]+", str(query or ""))
    kept = [w for w in words if w.lower() not in _FILLER]
    return " ".join(kept or words)


def _search_any(ctx: ToolContext, query: str, limit: int) -> list[Post]:
    """Posts matching all the words, or else the best of each word alone (longest words first)."""
    found = search.search_posts(ctx.session, ctx.account, query, limit=limit).items
    words = sorted(set(query.split()), key=len, reverse=True)
    if found or len(words) < 2:
        return found
    seen: dict[int, Post] = {}
    for word in words:
        for post in search.search_posts(ctx.session, ctx.account, word, limit=limit, log=False).items:
            seen.setdefault(post.id, post)
    return list(seen.values())


def search_posts(ctx: ToolContext, query: str, from_people_i_follow: bool = False, limit: int = 5) -> ToolResult:
    query = clean_query(query)
    if not query.strip():
        raise InvalidInput("say what to search for")
    limit = max(1, min(int(limit), 10))
    found = _search_any(ctx, query, 50)
    if from_people_i_follow:
        followed = following_ids(ctx.session, ctx.account.id)
        found = [p for p in found if p.author_id in followed]
    found = found[:limit]
    scope = " from people you follow" if from_people_i_follow else ""
    if not found:
        return ToolResult({"posts": []}, f"I found no posts about \"{query}\"{scope}.")
    lines = "\n".join(_post_line(p) for p in found)
    return ToolResult({"posts": [_post_data(p) for p in found]},
                      f"Posts about \"{query}\"{scope}:\n{lines}", [p.id for p in found])


def search_people(ctx: ToolContext, query: str, limit: int = 5) -> ToolResult:
    query = clean_query(query)
    if not query.strip():
        raise InvalidInput("say who to look for")
    people = search.search_people(ctx.session, ctx.account, query, limit=max(1, min(int(limit), 10))).items
    if not people:
        return ToolResult({"people": []}, f"I found nobody matching \"{query}\".")
    data = [{"handle": "@" + a.handle, "name": a.display_name, "bio": _excerpt(a.bio),
             "followers": a.follower_count} for a in people]
    lines = "\n".join(f"- @{a.handle} ({a.display_name}): {_excerpt(a.bio, 80)}" for a in people)
    return ToolResult({"people": data}, f"People matching \"{query}\":\n{lines}")


def catch_me_up(ctx: ToolContext, hours: int = 0) -> ToolResult:
    """What happened in the home timeline since the person was last here (or the last ``hours``)."""
    now = utcnow()
    if hours:
        since = now - timedelta(hours=max(1, min(int(hours), 24 * 14)))
    else:
        since = ctx.account.last_seen_at or now - timedelta(days=1)
        since = min(since, now - timedelta(hours=1))
    entries = timeline.home_timeline(ctx.session, ctx.account, limit=200)
    fresh = [e.post for e in entries if e.ts >= since and e.post.author_id != ctx.account.id]
    if not fresh:
        return ToolResult({"since": since.isoformat(), "posts": []},
                          "You're all caught up: nothing new from the people you follow.")
    authors = {p.author.handle for p in fresh}
    top = sorted(fresh, key=lambda p: (p.like_count + 2 * p.comment_count, p.created_at), reverse=True)[:5]
    lines = "\n".join(_post_line(p) for p in top)
    text = (f"Since {since:%a %H:%M} UTC: {len(fresh)} new posts from {len(authors)} people you follow. "
            f"The most talked-about:\n{lines}")
    return ToolResult({"since": since.isoformat(), "count": len(fresh), "people": len(authors),
                       "highlights": [_post_data(p) for p in top]}, text, [p.id for p in top])


def _feed_reasons(ctx: ToolContext, post_id: int) -> list[str] | None:
    """The feed's own reasons for the post, when it is on the first pages of the person's feed."""
    from townsquare.feed.service import MAX_LIMIT

    if ctx.feed is None:
        return None
    try:
        page = ctx.feed.page(ctx.session, ctx.account, limit=MAX_LIMIT)
    except Exception:  # the explanation falls back to the signals below
        return None
    for item in page.items:
        if item.post.id == post_id:
            return [r["text"].rstrip(".") + "." for r in item.reasons]
    return None


def explain_post(ctx: ToolContext, post_id: str) -> ToolResult:
    """Why a post shows up in the person's feed: the feed's own reasons when the post is on the first
    pages of the ranked feed, otherwise the signals the feed uses."""
    post = posts.get_post(ctx.session, ctx.account, _parse_id(post_id, "post_id"))
    from_feed = _feed_reasons(ctx, post.id)
    if from_feed:
        text = f"Why you see @{post.author.handle}'s post [post {post.id}]: " + " ".join(from_feed)
        return ToolResult({"post": _post_data(post), "reasons": from_feed, "source": "feed"}, text, [post.id])
    reasons = []
    if post.author_id == ctx.account.id:
        reasons.append("It is your own post.")
    elif is_following(ctx.session, ctx.account.id, post.author_id):
        reasons.append(f"You follow @{post.author.handle}.")
    # Reposts show in the home timeline, so they may be counted; reactions are not listed anywhere,
    # so who reacted is never said.
    followed = select(Follow.followee_id).where(Follow.follower_id == ctx.account.id)
    friends_reposted = ctx.session.scalar(select(func.count()).select_from(Repost).where(
        Repost.post_id == post.id, Repost.account_id.in_(followed))) or 0
    if friends_reposted:
        reasons.append(f"{friends_reposted} {'person' if friends_reposted == 1 else 'people'} you follow "
                       f"reposted it.")
    tags = ctx.session.scalars(select(PostHashtag.hashtag_id).where(PostHashtag.post_id == post.id)).all()
    if tags and ctx.session.scalar(select(func.count()).select_from(HashtagFollow).where(
            HashtagFollow.account_id == ctx.account.id, HashtagFollow.hashtag_id.in_(tags))):
        reasons.append("It carries a hashtag you follow.")
    if post.like_count + post.comment_count >= 5:
        reasons.append(f"It is popular ({post.like_count} likes, {post.comment_count} comments).")
    if not reasons:
        reasons.append("It was picked for discovery: something new outside the people you follow.")
    text = f"Why you see @{post.author.handle}'s post [post {post.id}]: " + " ".join(reasons)
    return ToolResult({"post": _post_data(post), "reasons": reasons}, text, [post.id])


def suggest_follows(ctx: ToolContext, topic: str = "", limit: int = 5) -> ToolResult:
    """People to follow: on a topic (who posts about it), or from the social graph."""
    limit = max(1, min(int(limit), 10))
    me = ctx.account.id
    skip = following_ids(ctx.session, me) | blocked_either_way_ids(ctx.session, me) | {me}
    scores: dict[int, float] = {}
    proof: dict[int, str] = {}
    topic = clean_query(topic) if str(topic or "").strip() else ""
    if topic:
        for rank, post in enumerate(_search_any(ctx, topic, 100)):
            if post.author_id not in skip:
                scores[post.author_id] = scores.get(post.author_id, 0) + 1.0 / (1 + rank) + 0.5
                proof[post.author_id] = f"posts about {topic}"
        for account in search.search_people(ctx.session, ctx.account, topic, limit=20, log=False).items:
            if account.id not in skip:
                scores[account.id] = scores.get(account.id, 0) + 1.0
                proof.setdefault(account.id, f"mentions {topic} in their profile")
    nobody_on_topic = bool(topic) and not scores
    if not topic or nobody_on_topic:
        # people you may know, from the feed's PYMK service (graph + model), with social proof; also
        # when nobody new posts about the topic (a vague one: "new interesting people")
        from townsquare.feed import pymk

        for rank, suggestion in enumerate(pymk.suggestions(ctx.session, ctx.account, limit=limit)):
            if suggestion.account.id not in skip:
                scores[suggestion.account.id] = float(limit - rank)
                proof[suggestion.account.id] = "; ".join(r.get("text", "") for r in suggestion.reasons[:2]) or (
                    f"{suggestion.mutual_count} friends in common")
    if not scores:
        return ToolResult({"people": []}, "I have no suggestions right now" + (f" for {topic}." if topic else "."))
    if nobody_on_topic:
        topic = ""
    ranked = sorted(scores, key=lambda a: -scores[a])
    accounts = {a.id: a for a in ctx.session.scalars(select(Account).where(
        Account.id.in_(ranked), Account.status == "active"))}
    chosen = [accounts[a] for a in ranked if a in accounts][:limit]
    lines = "\n".join(f"- @{a.handle} ({a.display_name}): {proof[a.id]}" for a in chosen)
    about = f" for {topic}" if topic else ""
    lead = "I found nobody new posting about that. " if nobody_on_topic else ""
    return ToolResult({"people": [{"handle": "@" + a.handle, "name": a.display_name, "why": proof[a.id]}
                                  for a in chosen]}, f"{lead}People you could follow{about}:\n{lines}")


def _two_sentences(text: str, limit: int = 280) -> str:
    sentences = re.split(r"(?<=[.!?])\s+", text)
    out = " ".join(sentences[:2]).strip()
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


def draft_post(ctx: ToolContext, about: str) -> ToolResult:
    """A draft for the person to edit; nothing is published."""
    about = str(about or "").strip()
    if not about:
        raise InvalidInput("say what the post should be about")
    draft = ""
    if ctx.llm is not None:
        try:
            reply = ctx.llm.chat([
                {"role": "system", "content": "You write short, friendly social media posts. "
                                              "Reply with the post text only, at most 2 sentences."},
                {"role": "user", "content": f"Write a post: {about}"}], max_tokens=80)
            draft = _two_sentences(" ".join(str(reply.text).split()).strip().strip('"'))
        except Exception:  # a draft is a convenience: fall back to a template
            draft = ""
    if len(draft) < 10:
        draft = about[0].upper() + about[1:]
        if not draft.endswith((".", "!", "?")):
            draft += "!"
    return ToolResult({"draft": draft}, f"Here is a draft — edit it, or ask me to publish it:\n\n{draft}")


def read_notifications(ctx: ToolContext, limit: int = 10) -> ToolResult:
    page = notifications_service.list_notifications(ctx.session, ctx.account, limit=max(1, min(int(limit), 30)))
    if not page.items:
        return ToolResult({"notifications": []}, "You have no notifications.")
    verbs = {"follow": "followed you", "follow_request": "asked to follow you", "follow_accepted":
             "accepted your follow request", "like": "reacted to your post", "comment": "commented on your post",
             "reply": "replied to your comment", "repost": "reposted your post", "mention": "mentioned you",
             "message": "sent you a message"}
    rows, lines = [], []
    for note in page.items:
        who = "@" + note.actor.handle if note.actor else "Someone"
        verb = verbs.get(note.kind, note.kind)
        where = f" [post {note.post_id}]" if note.post_id else ""
        rows.append({"kind": note.kind, "actor": who, "post_id": str(note.post_id) if note.post_id else None,
                     "read": note.read_at is not None, "created_at": note.created_at.isoformat()})
        lines.append(f"- {who} {verb}{where}{'' if note.read_at else ' (new)'}")
    unread = sum(1 for r in rows if not r["read"])
    return ToolResult({"notifications": rows, "unread": unread},
                      f"Your latest notifications ({unread} new):\n" + "\n".join(lines))


def ask_about_post(ctx: ToolContext, post_id: str, question: str = "") -> ToolResult:
    """A post and its discussion, for answering a question about it with citations."""
    post = posts.get_post(ctx.session, ctx.account, _parse_id(post_id, "post_id"))
    thread = comments_service.comment_thread(ctx.session, ctx.account, post.id)
    flat: list = []

    def walk(nodes, depth=0):
        for node in nodes:
            flat.append((depth, node.comment))
            walk(node.replies, depth + 1)

    walk(thread)
    flat = [(d, c) for d, c in flat if c.deleted_at is None][:15]
    lines = [f"@{post.author.handle} wrote [post {post.id}]: \"{_excerpt(post.text, 400)}\""]
    lines += [f"{'  ' * d}- @{c.author.handle}: \"{_excerpt(c.text, 200)}\"" for d, c in flat]
    data = {"post": _post_data(post), "comments": [{"author": "@" + c.author.handle, "text": _excerpt(c.text, 200)}
                                                   for _, c in flat], "question": question}
    return ToolResult(data, "\n".join(lines), [post.id])


# --- side effects: prepared, confirmed, then run -------------------------------------------------


def _prepare_publish(ctx: ToolContext, text: str, visibility: str = "public",
                     media_ids: list[str] | None = None) -> tuple[dict, str]:
    text = str(text or "").strip()
    posts._check_text(text, required=not media_ids)
    posts._check_visibility(visibility)
    audience = "your followers" if visibility == "followers" else "everyone"
    if media_ids:
        # A photo post: only code proposes these (hands-free "post this", townsquare/voice); the schema
        # the model sees has no media_ids.
        photos = media_service.owned_media(ctx.session, ctx.account, [_parse_id(m, "media_id") for m in media_ids])
        if not photos or any(m.kind != "image" for m in photos):
            raise InvalidInput("a photo post needs your own uploaded images")
        caption = f": \"{_excerpt(text, 200)}\"" if text else " without a caption"
        return ({"text": text, "visibility": visibility, "media_ids": [str(m.id) for m in photos]},
                f"Publish a photo post to {audience}{caption}")
    return {"text": text, "visibility": visibility}, f"Publish a post to {audience}: \"{_excerpt(text, 200)}\""


def publish_post(ctx: ToolContext, text: str, visibility: str = "public",
                 media_ids: list[str] | None = None) -> ToolResult:
    ids = [_parse_id(m, "media_id") for m in media_ids or []]
    post = posts.create_post(ctx.session, ctx.account, kind="photo" if ids else "text", text=text,
                             visibility=visibility, media_ids=ids)
    return ToolResult({"post": _post_data(post)}, f"Published [post {post.id}].", [post.id])


def _prepare_comment(ctx: ToolContext, post_id: str, text: str) -> tuple[dict, str]:
    post = posts.get_post(ctx.session, ctx.account, _parse_id(post_id, "post_id"))
    text = comments_service._check_text(text)
    return ({"post_id": str(post.id), "text": text},
            f"Comment on @{post.author.handle}'s post [post {post.id}]: \"{_excerpt(text, 200)}\"")


def comment_on_post(ctx: ToolContext, post_id: str, text: str) -> ToolResult:
    comment = comments_service.add_comment(ctx.session, ctx.account, _parse_id(post_id, "post_id"), text)
    return ToolResult({"comment_id": str(comment.id), "post_id": str(comment.post_id)},
                      f"Commented on [post {comment.post_id}].", [comment.post_id])


def _prepare_follow(ctx: ToolContext, handle: str) -> tuple[dict, str]:
    target = _account_by_handle(ctx, handle)
    if target.id == ctx.account.id:
        raise InvalidInput("you cannot follow yourself")
    if is_following(ctx.session, ctx.account.id, target.id):
        raise InvalidInput(f"you already follow @{target.handle}")
    return {"handle": target.handle}, f"Follow @{target.handle} ({target.display_name})"


def follow(ctx: ToolContext, handle: str) -> ToolResult:
    target = _account_by_handle(ctx, handle)
    state = graph.follow(ctx.session, ctx.account, target.id)
    text = f"You now follow @{target.handle}." if state == "following" else \
        f"@{target.handle} is private: your follow request was sent."
    return ToolResult({"handle": target.handle, "state": state}, text)


def _prepare_unfollow(ctx: ToolContext, handle: str) -> tuple[dict, str]:
    target = _account_by_handle(ctx, handle)
    if not is_following(ctx.session, ctx.account.id, target.id):
        raise InvalidInput(f"you do not follow @{target.handle}")
    return {"handle": target.handle}, f"Unfollow @{target.handle} ({target.display_name})"


def unfollow(ctx: ToolContext, handle: str) -> ToolResult:
    target = _account_by_handle(ctx, handle)
    graph.unfollow(ctx.session, ctx.account, target.id)
    return ToolResult({"handle": target.handle, "state": "unfollowed"}, f"You unfollowed @{target.handle}.")


def _prepare_react(ctx: ToolContext, post_id: str, reaction: str = "like") -> tuple[dict, str]:
    post = posts.get_post(ctx.session, ctx.account, _parse_id(post_id, "post_id"))
    if reaction not in reactions.REACTION_KINDS:
        raise InvalidInput(f"reaction must be one of {', '.join(reactions.REACTION_KINDS)}")
    return ({"post_id": str(post.id), "reaction": reaction},
            f"React with {reaction} to @{post.author.handle}'s post [post {post.id}]")


def react_to_post(ctx: ToolContext, post_id: str, reaction: str = "like") -> ToolResult:
    reactions.react(ctx.session, ctx.account, _parse_id(post_id, "post_id"), reaction, surface="assistant")
    return ToolResult({"post_id": str(post_id), "reaction": reaction}, f"Reacted with {reaction}.",
                      [_parse_id(post_id, "post_id")])


def _schema(properties: dict, required: list[str]) -> dict:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _str(description: str) -> dict:
    return {"type": "string", "description": description}


_QUERY = _str("the words to search for, e.g. 'climbing' in 'find posts about climbing'")
_POST_ID = _str("the number of the post, e.g. '42' in 'post 42'")
_HANDLE = _str("the account's handle, the word after @, e.g. 'mia' in '@mia'")

TOOLS: dict[str, Tool] = {t.name: t for t in [
    Tool("search_posts", "Search posts by topic or words, e.g. posts about climbing. Can keep only posts from "
         "people I follow.", _schema({"query": _QUERY, "from_people_i_follow": {
             "type": "boolean", "description": "true when the request says 'from people I follow'"}}, ["query"]),
         search_posts),
    Tool("search_people", "Find people or accounts by name, handle or what their profile says.",
         _schema({"query": _str("a name, a handle or a subject, e.g. 'Mia' or 'photography'")}, ["query"]),
         search_people),
    Tool("catch_me_up", "Catch me up: summarise what is new in my feed since I was last here.",
         _schema({"hours": {"type": "integer", "description": "how many hours back, if the person says"}}, []),
         catch_me_up),
    Tool("explain_post", "Explain why a post is in my feed.", _schema({"post_id": _POST_ID}, ["post_id"]),
         explain_post),
    Tool("suggest_follows", "Suggest people I should follow, optionally for a topic like photography.",
         _schema({"topic": _str("the subject, e.g. 'photography' in 'who should I follow for photography?'")}, []),
         suggest_follows),
    Tool("draft_post", "Draft a post for me to review (does not publish).",
         _schema({"about": _str("what the post is about, e.g. 'a run on Saturday'")}, ["about"]), draft_post),
    Tool("read_notifications", "Read my latest notifications.", _schema({}, []), read_notifications),
    Tool("ask_about_post", "Answer a question about a post and its comments.",
         _schema({"post_id": _POST_ID, "question": _str("the question about the post")}, ["post_id"]),
         ask_about_post),
    Tool("publish_post", "Publish a new post with the given text (asks me to confirm first).",
         _schema({"text": _str("the exact text to publish"),
                  "visibility": {"type": "string", "enum": ["public", "followers"]}}, ["text"]),
         publish_post, side_effect=True, prepare=_prepare_publish),
    Tool("comment_on_post", "Write a comment on a post (asks me to confirm first).",
         _schema({"post_id": _POST_ID, "text": _str("the exact comment text")}, ["post_id", "text"]),
         comment_on_post, side_effect=True, prepare=_prepare_comment),
    Tool("follow", "Follow an account by handle (asks me to confirm first).", _schema({"handle": _HANDLE}, ["handle"]),
         follow, side_effect=True, prepare=_prepare_follow),
    Tool("unfollow", "Unfollow an account by handle (asks me to confirm first).",
         _schema({"handle": _HANDLE}, ["handle"]), unfollow, side_effect=True, prepare=_prepare_unfollow),
    Tool("react_to_post", "Like or react to a post (asks me to confirm first).",
         _schema({"post_id": _POST_ID, "reaction": {"type": "string", "enum": list(reactions.REACTION_KINDS)}},
                 ["post_id"]), react_to_post, side_effect=True, prepare=_prepare_react),
]}

READ_ONLY = [t for t in TOOLS.values() if not t.side_effect]

_MENTION = re.compile(r"@(\w{1,30})")
_POST_REF = re.compile(r"\bpost\s*#?(\d+)\b", re.IGNORECASE)
_QUOTED = re.compile(r"[\"“'‘](.+?)[\"”'’](?:\s|$|[.,!?])")
_AFTER_COLON = re.compile(r":\s*(.+)$", re.DOTALL)
_TOPIC = re.compile(r"\b(?:for|about|into|on)\s+([\w][\w\s'-]{1,40}?)\s*[?.!]*$", re.IGNORECASE)


def repair_arguments(tool: Tool, arguments: dict, request: str) -> dict:
    """Ground a small model's arguments in the person's own words.

    When the request names exactly one @handle, one "post N", or one quoted text, and the model's
    argument is not it, the request wins: it is what the person asked for. Missing optional
    subjects ("who should I follow for photography?") are read off the request the same way.
    """
    args = dict(arguments)
    props = tool.parameters.get("properties", {})
    mentions = list(dict.fromkeys(m.lower() for m in _MENTION.findall(request)))
    if "handle" in props and len(mentions) == 1 and str(args.get("handle", "")).lstrip("@").lower() != mentions[0]:
        args["handle"] = mentions[0]
    refs = list(dict.fromkeys(_POST_REF.findall(request)))
    if "post_id" in props and len(refs) == 1 and str(args.get("post_id", "")).strip().lstrip("#") != refs[0]:
        args["post_id"] = refs[0]
    if "text" in props:
        given = str(args.get("text", "")).strip()
        quoted = _QUOTED.findall(request)
        colon = _AFTER_COLON.search(request)
        if len(quoted) == 1 and given != quoted[0]:
            args["text"] = quoted[0]
        elif not quoted and colon and given != colon.group(1).strip():
            args["text"] = colon.group(1).strip()
    if tool.name == "search_posts" and re.search(r"\bpeople I follow\b|\bI follow\b", request, re.IGNORECASE):
        args["from_people_i_follow"] = True
    for key in ("topic", "query", "about"):
        if key in props and not str(args.get(key, "")).strip():
            match = _TOPIC.search(request.strip())
            if match:
                args[key] = match.group(1).strip()
    return args


def run_tool(ctx: ToolContext, name: str, arguments: dict) -> ToolResult:
    tool = TOOLS.get(name)
    if tool is None:
        raise InvalidInput(f"there is no tool {name!r}")
    if not isinstance(arguments, dict):
        raise InvalidInput("tool arguments must be an object")
    allowed = set(tool.parameters.get("properties", {}))
    unknown = set(arguments) - allowed
    if unknown:
        raise InvalidInput(f"{name} takes no argument {', '.join(sorted(unknown))}")
    missing = [r for r in tool.parameters.get("required", []) if r not in arguments]
    if missing:
        raise InvalidInput(f"{name} needs {', '.join(missing)}")
    return tool.run(ctx, **arguments)
