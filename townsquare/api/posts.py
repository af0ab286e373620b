"""Posts, comments, reactions and reposts (``/api/posts``)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field
from sqlalchemy.orm import Session

from townsquare.api.pagination import Page, PageQuery, page_query
from townsquare.api.schemas import (
    CommentOut,
    OkOut,
    PostOut,
    StrictModel,
    parse_id,
    render_comment,
    render_post,
)
from townsquare.server.cursors import encode_cursor
from townsquare.server.deps import current_account, get_session, optional_account
from townsquare.social import comments, posts, reactions
from townsquare.social.models import Account

router = APIRouter(tags=["posts"])


class PostIn(StrictModel):
    kind: Literal["text", "photo", "video", "link"] = "text"
    text: str = Field("", max_length=20_000)
    visibility: Literal["public", "followers"] = "public"
    media_ids: list[str] = Field(default_factory=list, max_length=10)
    link_url: str | None = Field(None, max_length=10_000)
    link_title: str | None = Field(None, max_length=2_000)


class PostEditIn(StrictModel):
    text: str | None = Field(None, max_length=20_000)
    visibility: Literal["public", "followers"] | None = None


class CommentIn(StrictModel):
    text: str = Field(max_length=20_000)
    parent_id: str | None = None


class CommentEditIn(StrictModel):
    text: str = Field(max_length=20_000)


class ReactionIn(StrictModel):
    kind: Literal["like", "love", "haha", "wow", "sad", "angry"] = "like"


@router.post("/api/posts", response_model=PostOut, status_code=201)
def create_post(body: PostIn, account: Account = Depends(current_account), session: Session = Depends(get_session)):
    """Publish a post: text; photo (1-4 images); video (1 video); link (http(s) url, optional title)."""
    media_ids = [parse_id(m, what="media", in_body=True) for m in body.media_ids]
    post = posts.create_post(session, account, kind=body.kind, text=body.text, visibility=body.visibility,
                             media_ids=media_ids, link_url=body.link_url, link_title=body.link_title)
    return render_post(session, account, post)


@router.get("/api/posts/{post_id}", response_model=PostOut)
def read_post(post_id: str, session: Session = Depends(get_session),
              viewer: Account | None = Depends(optional_account)):
    """One post (404 when it does not exist or you may not see it). Logs an ``open`` when signed in."""
    post = posts.open_post(session, viewer, parse_id(post_id, what="post"))
    return render_post(session, viewer, post)


@router.patch("/api/posts/{post_id}", response_model=PostOut)
def edit_post(post_id: str, body: PostEditIn, account: Account = Depends(current_account),
              session: Session = Depends(get_session)):
    post = posts.edit_post(session, account, parse_id(post_id, what="post"), text=body.text,
                           visibility=body.visibility)
    return render_post(session, account, post)


@router.delete("/api/posts/{post_id}", response_model=OkOut)
def delete_post(post_id: str, account: Account = Depends(current_account), session: Session = Depends(get_session)):
    posts.delete_post(session, account, parse_id(post_id, what="post"))
    return {"ok": True}


# --- comments -------------------------------------------------------------------------------


@router.get("/api/posts/{post_id}/comments", response_model=Page[CommentOut])
def list_comments(post_id: str, page: PageQuery = Depends(page_query), session: Session = Depends(get_session),
                  viewer: Account | None = Depends(optional_account)):
    """The post's comments as a thread: top-level comments oldest first, replies nested."""
    after = page.ts_id()
    roots = comments.comment_thread(session, viewer, parse_id(post_id, what="post"), after=after,
                                    limit=page.limit + 1)

    def render(node) -> dict:
        return render_comment(node.comment, [render(r) for r in node.replies])

    shown = roots[: page.limit]
    next_cursor = None
    if len(roots) > page.limit:
        last = shown[-1].comment
        next_cursor = encode_cursor({"ts": last.created_at, "id": last.id})
    return {"items": [render(n) for n in shown], "next_cursor": next_cursor}


@router.post("/api/posts/{post_id}/comments", response_model=CommentOut, status_code=201)
def add_comment(post_id: str, body: CommentIn, account: Account = Depends(current_account),
                session: Session = Depends(get_session)):
    parent_id = parse_id(body.parent_id, what="comment", in_body=True) if body.parent_id else None
    comment = comments.add_comment(session, account, parse_id(post_id, what="post"), body.text,
                                   parent_id=parent_id)
    return render_comment(comment)


@router.patch("/api/comments/{comment_id}", response_model=CommentOut)
def edit_comment(comment_id: str, body: CommentEditIn, account: Account = Depends(current_account),
                 session: Session = Depends(get_session)):
    comment = comments.edit_comment(session, account, parse_id(comment_id, what="comment"), body.text)
    return render_comment(comment)


@router.delete("/api/comments/{comment_id}", response_model=OkOut)
def delete_comment(comment_id: str, account: Account = Depends(current_account),
                   session: Session = Depends(get_session)):
    comments.delete_comment(session, account, parse_id(comment_id, what="comment"))
    return {"ok": True}


# --- reactions and reposts ------------------------------------------------------------------


@router.post("/api/posts/{post_id}/reaction", response_model=PostOut)
def react(post_id: str, response: Response, body: ReactionIn | None = None,
          surface: str | None = Query(None, max_length=24), account: Account = Depends(current_account),
          session: Session = Depends(get_session)):
    """Set your reaction (like by default) or replace it with another kind; the same kind again is 409."""
    kind = body.kind if body else "like"
    _, created = reactions.react(session, account, parse_id(post_id, what="post"), kind, surface=surface)
    response.status_code = 201 if created else 200
    return render_post(session, account, posts.get_post(session, account, parse_id(post_id, what="post")))


@router.delete("/api/posts/{post_id}/reaction", response_model=PostOut)
def unreact(post_id: str, surface: str | None = Query(None, max_length=24),
            account: Account = Depends(current_account), session: Session = Depends(get_session)):
    pid = parse_id(post_id, what="post")
    reactions.unreact(session, account, pid, surface=surface)
    return render_post(session, account, posts.get_post(session, account, pid))


@router.post("/api/posts/{post_id}/repost", response_model=PostOut, status_code=201)
def repost(post_id: str, surface: str | None = Query(None, max_length=24),
           account: Account = Depends(current_account), session: Session = Depends(get_session)):
    pid = parse_id(post_id, what="post")
    reactions.repost(session, account, pid, surface=surface)
    return render_post(session, account, posts.get_post(session, account, pid))


@router.delete("/api/posts/{post_id}/repost", response_model=PostOut)
def unrepost(post_id: str, account: Account = Depends(current_account), session: Session = Depends(get_session)):
    pid = parse_id(post_id, what="post")
    reactions.unrepost(session, account, pid)
    return render_post(session, account, posts.get_post(session, account, pid))


