"""How the quote-relevance weights and threshold in ``townsquare/studio/quotes.py`` were chosen: a grid
over the DEV half of ``bench studio`` only (the test half is never read here).

Objective: answerable probes whose picked quotes cite every expected key, plus unanswerable probes
with nothing picked (both counted once). Run: ``python -m townsquare.bench.studio_tune``.
"""

from __future__ import annotations

import itertools

from townsquare.bench import studio as bench
from townsquare.bench.report import scratch_database
from townsquare.social.models import Account
from townsquare.studio import chat, grounding, quotes, words
from townsquare.studio.models import CreatorAI


def features():
    creators, probes = bench.load("dev")
    rows = []
    with scratch_database("townsquare-tune-studio-") as (settings, db):
        ids = bench.build_world(settings, db, creators)
        with db.session() as s:
            for p in probes:
                if p["kind"] not in ("answer", "unanswerable"):
                    continue
                ai = s.get(CreatorAI, ids[p["creator"]])
                owner = s.get(Account, ai.owner_id)
                ignore = chat._name_words(ai, owner)
                sources = grounding.find_sources(s, owner.id, p["text"], k=8, min_score=-1.0, settings=settings,
                                                 viewer_id=ids[p["asker"]])
                asked = set(words.content_words(p["text"], ignore))
                pool = [(src, sent) for src in sources for sent in quotes.candidates(src)]
                vectors = quotes._embed([p["text"]] + [sent for _, sent in pool], settings) if pool else None
                cands = []
                for i, (src, _sentence) in enumerate(pool):
                    cands.append((src.post_id, src.text, float(vectors[1 + i] @ vectors[0]), src.score,
                                  quotes.overlap(asked, src.text), set(words.content_words(src.text))))
                rows.append((p, asked, cands))
    return rows


def evaluate(rows, ws, wp, wo, threshold, k, min_score):
    score = grounded = declined = answerable = unanswerable = 0
    for p, asked, cands in rows:
        keep = sorted({c[0]: c[3] for c in cands}.items(), key=lambda x: -x[1])[:k]
        allowed = {pid for pid, sc in keep if sc >= min_score}
        best = {}
        for pid, text, ss, ps, ov, cw in cands:
            if pid not in allowed:
                continue
            rel = ws * ss + wp * ps + wo * ov
            if pid not in best or rel > best[pid][0]:
                best[pid] = (rel, text, cw)
        ranked = sorted((v for v in best.values() if v[0] >= threshold), key=lambda v: -v[0])
        chosen = ranked[:1]
        if ranked:
            covered = asked & ranked[0][2]
            for r in ranked[1:]:
                if len(chosen) >= quotes.MAX_QUOTES:
                    break
                new = (asked - covered) & r[2]
                if new:
                    chosen.append(r)
                    covered |= new
        cited = " ".join(c[1] for c in chosen).casefold()
        if p["kind"] == "answer":
            answerable += 1
            ok = all(key.casefold() in cited for key in p["keys"])
            grounded += ok
        else:
            unanswerable += 1
            ok = not chosen
            declined += ok
        score += ok
    return score, grounded / answerable, declined / unanswerable


def main():
    rows = features()
    grid = itertools.product([0.3, 0.45, 0.6], [0.2, 0.35, 0.5], [0.2, 0.35, 0.5],
                             [x / 100 for x in range(20, 62, 2)], [3, 5], [0.05, 0.15])
    results = sorted(((evaluate(rows, *g), g) for g in grid), key=lambda r: (-r[0][0], -r[0][1]))
    print("current", evaluate(rows, quotes.W_SENTENCE, quotes.W_POST, quotes.W_OVERLAP, quotes.MIN_RELEVANCE,
                              chat.SOURCES_K, chat.SOURCE_MIN_SCORE))
    for (total, g_rate, d_rate), g in results[:15]:
        print(f"{total:4d} grounding {g_rate:.3f} declined {d_rate:.3f}  ws,wp,wo,thr,k,min = {g}")


if __name__ == "__main__":
    main()
