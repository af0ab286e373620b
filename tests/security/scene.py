"""The cast and content of the authorization matrix: who is who, what each piece of content says (a
unique marker word), and who may see each marker.

The content owners are **olive** (a public account) and **pria** (a private account). Everyone else
is named after their relation to them:

| viewer | relation |
|---|---|
| olive, pria | the owners |
| fran | follower of both (pria accepted her request) |
| pete | pending follow request to pria; a stranger to olive |
| sam | stranger |
| bea | blocked by both owners |
| bob | blocks both owners |
| mona | mutes both owners |
| exa | former follower of olive (followed, got notifications, unfollowed) |
| anon | signed out |
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .conftest import Town, Who

# Markers: unique words that occur nowhere else. Lower case letters only (searchable, tag-able).
PUB_O, FOL_O = "zzpubolive", "zzfololive"  # olive's public and followers-only posts
PUB_P, FOL_P = "zzpubpria", "zzfolpria"  # pria's public and followers-only posts
TAG_PUB_O, TAG_FOL_O, TAG_PUB_P, TAG_FOL_P = "tagpubolive", "tagfololive", "tagpubpria", "tagfolpria"
COM, REPLY = "zzcomolive", "zzreplyolive"  # a comment and a reply under olive's followers-only post
DM = "zzdmolive"  # a direct message from olive to fran
BIO_O, BIO_P = "zzbioolive", "zzbiopria"
INSTR = "zzinstrolive"  # the owner-only instructions of olive's creator AI
AI_NAME = "zzainame"  # the name (and so the address) of olive's public creator AI

VIEWERS = ("olive", "pria", "fran", "pete", "sam", "bea", "bob", "mona", "exa", "anon")
EVERYONE = frozenset(VIEWERS)
MUTERS = frozenset({"mona"})  # who muted both owners: surfaces that honour mutes hide them their content


@dataclass
class Scene:
    town: Town
    who: dict[str, Who]
    posts: dict[str, str]  # marker -> post id
    media_url: str  # the photo on olive's followers-only post
    ai: dict
    audience: dict[str, frozenset[str]] = field(default_factory=dict)  # marker -> who may see it

    @property
    def media_marker(self) -> str:
        return "served:" + self.media_url.rsplit("/", 1)[-1]



def build(town: Town) -> Scene:
    who = {name: town.signup(name) for name in ("fran", "pete", "sam", "bea", "bob", "mona", "exa")}
    who["olive"] = olive = town.signup("olive", bio=f"{BIO_O} tells stories")
    who["pria"] = pria = town.signup("pria", private=True, bio=f"{BIO_P} keeps to herself")
    who["anon"] = Who("anon")
    fran, pete, bea, bob, mona, exa = (who[n] for n in ("fran", "pete", "bea", "bob", "mona", "exa"))

    town.follow(fran, olive)
    assert town.follow(fran, pria) == "requested"
    town.accept(pria, fran)
    assert town.follow(pete, pria) == "requested"  # left pending
    town.follow(exa, olive)

    photo = town.upload_png(olive, color=(7, 77, 177))
    posts = {
        PUB_O: town.post(olive, f"{PUB_O} morning news #{TAG_PUB_O} @sam @bea @bob @mona @pete"),
        FOL_O: town.post(olive, f"{FOL_O} plans for friends #{TAG_FOL_O} @fran @exa @sam", "followers",
                         media_ids=[photo["id"]]),
        PUB_P: town.post(pria, f"{PUB_P} an open note #{TAG_PUB_P}"),
        FOL_P: town.post(pria, f"{FOL_P} the inner circle #{TAG_FOL_P} @fran @pete", "followers"),
    }
    fran_comment = town.comment(fran, posts[FOL_O], f"{COM} count me in")
    exa_comment = town.comment(exa, posts[FOL_O], "me too")
    for parent in (fran_comment, exa_comment):
        town.ok(town.client.post(f"/api/posts/{posts[FOL_O]}/comments", headers=olive.headers,
                                 json={"text": f"{REPLY} see you there", "parent_id": parent}), 201)
    town.message(olive, fran, f"{DM} just between us")
    ai = town.create_ai(olive, AI_NAME, instructions=f"{INSTR}: never share this", visibility="public")

    town.unfollow(exa, olive)  # exa keeps the notifications she got while following
    for owner in (olive, pria):
        town.block(owner, bea)
        town.block(bob, owner)
        town.mute(mona, owner)

    scene = Scene(town, who, posts, photo["url"], ai)
    public = EVERYONE - {"bea", "bob"}  # blocks hide content both ways
    followers_o, followers_p = frozenset({"olive", "fran"}), frozenset({"pria", "fran"})
    scene.audience = {
        PUB_O: public, TAG_PUB_O: public, PUB_P: public, TAG_PUB_P: public,
        FOL_O: followers_o, TAG_FOL_O: followers_o, COM: followers_o, REPLY: followers_o,
        scene.media_marker: followers_o,
        FOL_P: followers_p, TAG_FOL_P: followers_p,
        DM: frozenset({"olive", "fran"}),
        BIO_O: EVERYONE - {"bea"}, BIO_P: EVERYONE - {"bea"},  # the blocker still sees the bare profile
        INSTR: frozenset({"olive"}),
        AI_NAME: public,
    }
    return scene
