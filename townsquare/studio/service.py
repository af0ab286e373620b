"""Creating, editing, finding and exporting creator AIs. Chat lives in ``chat.py``."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import Conflict, Forbidden, InvalidInput, NotFound
from townsquare.social import blocks
from townsquare.social.blocks import blocked_either_way, either_way_clause
from townsquare.social.models import Account, Media
from townsquare.studio import cards
from townsquare.studio.models import AI_VISIBILITIES, CreatorAI

MAX_AIS_PER_CREATOR = 10
MAX_TOPICS = 20
MAX_LINKS = 10
MAX_EXAMPLES = 20
LIMITS = {"name": 80, "description": 300, "instructions": 4000, "tone": 200, "greeting": 1000}
AI_LABEL = "AI"


@dataclass
class AIFields:
    """What a creator sets on an AI; ``None`` means "leave as is" on update."""

    name: str | None = None
    description: str | None = None
    instructions: str | None = None
    tone: str | None = None
    topics_to_avoid: list[str] | None = None
    links: list[dict] | None = None
    greeting: str | None = None
    example_dialogues: list[dict] | None = None
    visibility: str | None = None
    avatar_media_id: int | None = None
    paused: bool | None = None
    extra: dict = field(default_factory=dict)


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:40] or "ai"


def _clean_text(name: str, value: str) -> str:
    value = (value or "").strip()
    if len(value) > LIMITS[name]:
        raise InvalidInput(f"{name} is {len(value)} characters; at most {LIMITS[name]} are allowed")
    return value


def _clean_topics(topics: list) -> list[str]:
    if not isinstance(topics, list) or len(topics) > MAX_TOPICS:
        raise InvalidInput(f"topics_to_avoid must be a list of at most {MAX_TOPICS} topics")
    cleaned = []
    for topic in topics:
        if not isinstance(topic, str) or not topic.strip() or len(topic) > 80:
            raise InvalidInput("each topic to avoid must be 1-80 characters")
        cleaned.append(topic.strip())
    return list(dict.fromkeys(cleaned))


def _clean_links(links: list) -> list[dict]:
    if not isinstance(links, list) or len(links) > MAX_LINKS:
        raise InvalidInput(f"links must be a list of at most {MAX_LINKS} links")
    cleaned = []
    for link in links:
        url = link.get("url", "") if isinstance(link, dict) else link
        title = (link.get("title", "") if isinstance(link, dict) else "") or url
        parsed = urlparse(str(url))
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(url) > 2048:
            raise InvalidInput(f"link {url!r} is not an http(s) URL")
        cleaned.append({"title": str(title)[:200], "url": url})
    return cleaned


def _clean_examples(examples: list) -> list[dict]:
    if not isinstance(examples, list) or len(examples) > MAX_EXAMPLES:
        raise InvalidInput(f"example_dialogues must be a list of at most {MAX_EXAMPLES} exchanges")
    cleaned = []
    for example in examples:
        if not isinstance(example, dict) or not str(example.get("user", "")).strip() or not str(
                example.get("ai", "")).strip():
            raise InvalidInput("each example dialogue needs a non-empty 'user' and 'ai' line")
        cleaned.append({"user": str(example["user"])[:1000], "ai": str(example["ai"])[:1000]})
    return cleaned


def _require_active_creator(owner: Account) -> None:
    if owner.status != "active":
        raise Forbidden("suspended or deleted accounts cannot have an AI")


def _apply(session: Session, ai: CreatorAI, owner: Account, fields: AIFields) -> None:
    if fields.name is not None:
        name = _clean_text("name", fields.name)
        if not name:
            raise InvalidInput("name must not be empty")
        ai.name = name
    for attr in ("description", "instructions", "tone", "greeting"):
        value = getattr(fields, attr)
        if value is not None:
            setattr(ai, attr, _clean_text(attr, value))
    if fields.topics_to_avoid is not None:
        ai.topics_to_avoid = _clean_topics(fields.topics_to_avoid)
    if fields.links is not None:
        ai.links = _clean_links(fields.links)
    if fields.example_dialogues is not None:
        ai.example_dialogues = _clean_examples(fields.example_dialogues)
    if fields.visibility is not None:
        if fields.visibility not in AI_VISIBILITIES:
            raise InvalidInput(f"visibility must be one of {', '.join(AI_VISIBILITIES)}")
        ai.visibility = fields.visibility
    if fields.avatar_media_id is not None:
        media = session.get(Media, fields.avatar_media_id)
        if media is None or media.owner_id != owner.id or media.kind != "image":
            raise InvalidInput("avatar must be an image you uploaded")
        ai.avatar_media_id = media.id
    if fields.paused is not None:
        ai.paused = bool(fields.paused)


def _unique_slug(session: Session, owner_id: int, name: str) -> str:
    base = slugify(name)
    taken = set(session.scalars(select(CreatorAI.slug).where(CreatorAI.owner_id == owner_id)))
    slug, n = base, 2
    while slug in taken:
        slug = f"{base[:36]}-{n}"
        n += 1
    return slug


def create_ai(session: Session, owner: Account, fields: AIFields, *, card: dict | None = None) -> CreatorAI:
    _require_active_creator(owner)
    count = session.scalar(select(func.count()).select_from(CreatorAI).where(
        CreatorAI.owner_id == owner.id, CreatorAI.deleted_at.is_(None)))
    if count >= MAX_AIS_PER_CREATOR:
        raise Conflict(f"a creator can have at most {MAX_AIS_PER_CREATOR} AIs")
    if not (fields.name or "").strip():
        raise InvalidInput("name must not be empty")
    ai = CreatorAI(owner_id=owner.id, name="", topics_to_avoid=[], links=[], example_dialogues=[],
                   card=card or {}, visibility="public")
    _apply(session, ai, owner, fields)
    ai.slug = _unique_slug(session, owner.id, ai.name)
    session.add(ai)
    session.flush()
    return ai


def update_ai(session: Session, owner: Account, ai: CreatorAI, fields: AIFields) -> CreatorAI:
    if ai.owner_id != owner.id:
        raise NotFound("no such AI")
    _require_active_creator(owner)
    _apply(session, ai, owner, fields)
    ai.updated_at = utcnow()
    return ai


def delete_ai(session: Session, owner: Account, ai: CreatorAI) -> None:
    if ai.owner_id != owner.id:
        raise NotFound("no such AI")
    ai.deleted_at = utcnow()


def list_own_ais(session: Session, owner: Account) -> list[CreatorAI]:
    return list(session.scalars(select(CreatorAI).where(
        CreatorAI.owner_id == owner.id, CreatorAI.deleted_at.is_(None)).order_by(CreatorAI.id)))


def list_public_ais(session: Session, owner_id: int, viewer: Account | None = None) -> list[CreatorAI]:
    """The owner's public AIs, as ``viewer`` may see them (none across a block: ``social/blocks.py``)."""
    if viewer is not None and viewer.id != owner_id and blocked_either_way(session, viewer.id, owner_id):
        return []
    return list(session.scalars(select(CreatorAI).join(Account, Account.id == CreatorAI.owner_id).where(
        CreatorAI.owner_id == owner_id, CreatorAI.deleted_at.is_(None), CreatorAI.visibility == "public",
        Account.status == "active").order_by(CreatorAI.id)))


def listed_ais_query(viewer: Account | None):
    """``select(CreatorAI, Account)`` of every public, running AI of an active creator that ``viewer``
    may reach (no block either way): what ``/v1/models`` and discovery list."""
    query = (select(CreatorAI, Account).join(Account, Account.id == CreatorAI.owner_id).where(
        CreatorAI.visibility == "public", CreatorAI.deleted_at.is_(None), CreatorAI.paused.is_(False),
        Account.status == "active"))
    if viewer is not None:
        query = query.where(~either_way_clause(viewer.id, Account.id))
    return query


def get_own_ai(session: Session, owner: Account, ai_id: int) -> CreatorAI:
    ai = session.get(CreatorAI, ai_id)
    if ai is None or ai.deleted_at is not None or ai.owner_id != owner.id:
        raise NotFound("no such AI")
    return ai


def find_ai(session: Session, viewer: Account | None, handle: str, slug: str | None = None) -> CreatorAI:
    """The AI ``handle`` (its first public one) or ``handle/slug`` as ``viewer`` may reach it.

    Private AIs are for their creator only; unlisted ones work by address but are not listed.
    The AI of a suspended or deleted creator is unavailable to everyone.
    """
    owner = session.scalar(select(Account).where(Account.handle == handle.lower().lstrip("@")))
    if owner is None or blocks.hidden_from(session, viewer, owner):  # the block rule: not there for you
        raise NotFound(f"no account @{handle}")
    if owner.status != "active":
        raise NotFound(f"@{owner.handle}'s AI is not available")
    query = select(CreatorAI).where(CreatorAI.owner_id == owner.id, CreatorAI.deleted_at.is_(None))
    if slug:
        ai = session.scalar(query.where(CreatorAI.slug == slug))
    else:
        ai = session.scalar(query.where(CreatorAI.visibility == "public").order_by(CreatorAI.id).limit(1))
    is_owner = viewer is not None and viewer.id == owner.id
    # The block rule (``social/blocks.py``): the AI of someone who blocks you, or whom you block,
    # is not there for you, whatever the surface (pages, the studio API, /v1).
    across_block = viewer is not None and not is_owner and blocked_either_way(session, viewer.id, owner.id)
    if ai is None or across_block or (ai.visibility == "private" and not is_owner):
        raise NotFound(f"@{owner.handle} has no AI {'named ' + slug if slug else 'to talk to'}")
    return ai


def model_id(ai: CreatorAI, owner: Account) -> str:
    """The id under which the OpenAI-compatible API serves this AI."""
    return f"creator/{owner.handle}/{ai.slug}"


# --- Character Cards V2 and V3 ---------------------------------------------------------------------


def _fit(text: str, name: str) -> str:
    """Card text cut to our field's limit, as it will be stored."""
    return (text or "").strip()[: LIMITS[name]].strip()


def fields_from_card(card: dict) -> AIFields:
    data = card["data"]
    ts = data.get("extensions", {}).get("townsquare", {}) if isinstance(data.get("extensions"), dict) else {}
    examples = ts.get("example_dialogues")
    if examples is None:
        examples = _parse_mes_example(data.get("mes_example", ""))
    return AIFields(
        name=_fit(data["name"], "name"),
        description=_fit(data.get("description"), "description"),
        instructions=_fit(data.get("system_prompt"), "instructions"),
        tone=_fit(data.get("personality"), "tone"),
        greeting=_fit(data.get("first_mes"), "greeting"),
        topics_to_avoid=ts.get("topics_to_avoid", []),
        links=ts.get("links", []),
        visibility=ts.get("visibility", "public"),
        example_dialogues=examples[:MAX_EXAMPLES],
    )


def _parse_mes_example(text: str) -> list[dict]:
    """``<START>`` blocks of ``{{user}}: ...`` / ``{{char}}: ...`` lines into user/ai pairs."""
    pairs, user = [], None
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("{{user}}:"):
            user = line[len("{{user}}:"):].strip()
        elif line.startswith("{{char}}:") and user:
            pairs.append({"user": user, "ai": line[len("{{char}}:"):].strip()})
            user = None
    return pairs


def import_card(session: Session, owner: Account, raw: bytes, *, is_png: bool = False) -> CreatorAI:
    """Create an AI from a card (JSON or PNG). Everything is checked before anything is written."""
    card = cards.parse_card_png(raw) if is_png else cards.parse_card_json(raw)
    return create_ai(session, owner, fields_from_card(card), card=card["data"])


def export_card(ai: CreatorAI, owner: Account) -> dict:
    """The AI as a V2 card: the imported card's data untouched, except for what the creator has
    edited here since (a field whose value still equals what the import derived keeps the card's
    original, untruncated text)."""
    data = copy.deepcopy(ai.card) if ai.card else {"name": ai.name}
    imported = fields_from_card({"data": data}) if ai.card else AIFields()
    for card_key, attr in (("name", "name"), ("description", "description"), ("personality", "tone"),
                           ("first_mes", "greeting"), ("system_prompt", "instructions")):
        if getattr(ai, attr) != getattr(imported, attr):
            data[card_key] = getattr(ai, attr)
    data.setdefault("creator", owner.handle)
    derived_examples = _parse_mes_example(data.get("mes_example", ""))
    if not ai.card and ai.example_dialogues:
        data["mes_example"] = "\n".join(
            f"<START>\n{{{{user}}}}: {e['user']}\n{{{{char}}}}: {e['ai']}" for e in ai.example_dialogues)
        derived_examples = ai.example_dialogues
    extensions = data.setdefault("extensions", {})
    ours = dict(extensions.get("townsquare") or {})
    for key, value, default in (("topics_to_avoid", ai.topics_to_avoid, []), ("links", ai.links, []),
                                ("visibility", ai.visibility, "public"),
                                ("example_dialogues", ai.example_dialogues, derived_examples)):
        if value != default:
            ours[key] = value
        else:
            ours.pop(key, None)
    if ours or "townsquare" in extensions:
        extensions["townsquare"] = ours
    if "group_only_greetings" in data:  # imported as V3 (the field V3 requires): exported as V3
        return cards.validate_card({"spec": cards.SPEC_V3, "spec_version": cards.SPEC_VERSION_V3, "data": data})
    return cards.validate_card({"spec": cards.SPEC, "spec_version": cards.SPEC_VERSION, "data": data})


def discover_ais(session: Session, viewer: Account | None, limit: int = 10) -> list[tuple[CreatorAI, Account, str]]:
    """Public AIs to suggest, like accounts: those of people the viewer follows first, then the most
    talked-to. Never the viewer's own, a paused one, or one across a block. ``(ai, creator, why)``."""
    from townsquare.social.relations import blocked_either_way_ids, following_ids
    from townsquare.studio.models import AIChat

    chats = (select(AIChat.ai_id, func.count().label("n")).group_by(AIChat.ai_id).subquery())
    rows = session.execute(
        select(CreatorAI, Account, func.coalesce(chats.c.n, 0))
        .join(Account, Account.id == CreatorAI.owner_id)
        .outerjoin(chats, chats.c.ai_id == CreatorAI.id)
        .where(CreatorAI.visibility == "public", CreatorAI.deleted_at.is_(None), CreatorAI.paused.is_(False),
               Account.status == "active")
        .order_by(func.coalesce(chats.c.n, 0).desc(), CreatorAI.id).limit(500)).all()
    followed = following_ids(session, viewer.id) if viewer else set()
    blocked = blocked_either_way_ids(session, viewer.id) if viewer else set()
    picks = []
    for ai, owner, n in rows:
        if viewer is not None and (owner.id == viewer.id or owner.id in blocked):
            continue
        why = f"You follow @{owner.handle}" if owner.id in followed else (
            f"{n} {'person' if n == 1 else 'people'} chatted with it" if n else "New in the AI studio")
        picks.append((0 if owner.id in followed else 1, len(picks), ai, owner, why))
    picks.sort(key=lambda p: (p[0], p[1]))
    return [(ai, owner, why) for _, _, ai, owner, why in picks[:limit]]
