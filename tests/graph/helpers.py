"""Helpers for the graph, messages, notifications, search and moderation tests.

Accounts and posts are made directly with the storage models (not through the sign-up or posting
services), and tokens with ``tokens.issue_token``, so these tests stand on the foundation alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select

from townsquare.social.models import Account, Follow, Hashtag, Post, PostHashtag
from townsquare.social.tokens import issue_token

_TAG = re.compile(r"#(\w+)")


@dataclass
class User:
    id: int
    handle: str
    token: str
    headers: dict = field(default_factory=dict)

    @property
    def sid(self) -> str:
        return str(self.id)


class World:
    """Makes people, posts and follows in the test database."""

    def __init__(self, db) -> None:
        self.db = db

    def user(self, handle: str, *, private: bool = False, admin: bool = False, display_name: str = "",
             bio: str = "") -> User:
        with self.db.session() as s:
            account = Account(handle=handle, email=f"{handle}@example.org", display_name=display_name or handle,
                              bio=bio, is_private=private, is_admin=admin)
            s.add(account)
            s.flush()
            token = issue_token(s, account)
            return User(account.id, handle, token, {"Authorization": f"Bearer {token}"})

    def post(self, author: User, text: str, *, visibility: str = "public") -> int:
        with self.db.session() as s:
            post = Post(author_id=author.id, text=text, visibility=visibility)
            s.add(post)
            s.flush()
            for name in {m.lower() for m in _TAG.findall(text)}:
                tag = s.scalar(select(Hashtag).where(Hashtag.name == name))
                if tag is None:
                    tag = Hashtag(name=name)
                    s.add(tag)
                    s.flush()
                s.add(PostHashtag(post_id=post.id, hashtag_id=tag.id))
            return post.id

    def follow(self, follower: User, followee: User) -> None:
        """A follow row made directly, with the counts kept right."""
        with self.db.session() as s:
            s.add(Follow(follower_id=follower.id, followee_id=followee.id))
            s.get(Account, follower.id).following_count += 1
            s.get(Account, followee.id).follower_count += 1

    def account(self, user: User) -> Account:
        with self.db.session() as s:
            return s.get(Account, user.id)

    def count(self, model, **where) -> int:
        with self.db.session() as s:
            stmt = select(model)
            for key, value in where.items():
                stmt = stmt.where(getattr(model, key) == value)
            return len(list(s.scalars(stmt)))


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is a clean JSON error with this status (and code)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body
