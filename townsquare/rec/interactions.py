"""Interaction files and the leave-one-out split of the public benchmarks.

File format: one ``user item`` pair a line (whitespace separated), each user's lines in time order
(users may interleave). Items are numbered 1..n in order of first appearance in the file, so
"catalog order" everywhere (tie order in rankings) is the order of the file.

Split (BRIEF.md): per user, the last item is the test target, the second-to-last the validation
target, the rest is training. Users with fewer than 3 interactions get no validation or test item:
all their items are training data and they are not evaluated.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from townsquare.errors import InvalidInput


@dataclass
class Interactions:
    users: list[str]            # user names, in order of first appearance
    items: list[str]            # item names; item index i + 1 is items[i]
    sequences: list[list[int]]  # per user, item indices 1..n in time order

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_interactions(self) -> int:
        return sum(len(s) for s in self.sequences)


def read_interactions(path: str | Path) -> Interactions:
    """Read a ``user item`` file. Raises InvalidInput (one line) for missing, empty or bad files."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(f"{p}: no such file")
    user_index: dict[str, int] = {}
    item_index: dict[str, int] = {}
    sequences: list[list[int]] = []
    with p.open("r", encoding="utf-8", errors="strict") as fh:
        try:
            for lineno, line in enumerate(fh, 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 2:
                    raise InvalidInput(f"{p}:{lineno}: expected 'user item', got {line.strip()[:60]!r}")
                u, it = parts
                ui = user_index.setdefault(u, len(user_index))
                if ui == len(sequences):
                    sequences.append([])
                sequences[ui].append(item_index.setdefault(it, len(item_index) + 1))
        except UnicodeDecodeError:
            raise InvalidInput(f"{p}: not a UTF-8 text file")
    if not sequences:
        raise InvalidInput(f"{p}: no interactions (empty file)")
    return Interactions(users=list(user_index), items=list(item_index), sequences=sequences)


@dataclass
class LeaveOneOut:
    n_items: int
    train: list[list[int]]       # per user: training items (all but the last two, or all)
    valid_target: list[int]      # per user: validation item, 0 = none (user not evaluated)
    test_target: list[int]       # per user: test item, 0 = none

    def eval_users(self) -> list[int]:
        return [u for u, t in enumerate(self.test_target) if t]

    def valid_case(self) -> tuple[list[list[int]], list[int]]:
        """Histories and targets for validation: history = training items."""
        us = self.eval_users()
        return [self.train[u] for u in us], [self.valid_target[u] for u in us]

    def test_case(self) -> tuple[list[list[int]], list[int]]:
        """Histories and targets for test: history = training items + the validation item."""
        us = self.eval_users()
        return [self.train[u] + [self.valid_target[u]] for u in us], [self.test_target[u] for u in us]


def leave_one_out(data: Interactions) -> LeaveOneOut:
    train, valid, test = [], [], []
    for seq in data.sequences:
        if len(seq) >= 3:
            train.append(seq[:-2])
            valid.append(seq[-2])
            test.append(seq[-1])
        else:
            train.append(list(seq))
            valid.append(0)
            test.append(0)
    return LeaveOneOut(n_items=data.n_items, train=train, valid_target=valid, test_target=test)


def training_windows(sequences: list[list[int]], max_len: int, all_windows: bool) -> list[list[int]]:
    """Training windows of up to ``max_len + 1`` items (inputs = w[:-1], targets = w[1:]).

    ``all_windows=False``: each sequence's last window only (SASRec). ``True``: the sequence is cut
    from its end into consecutive windows that overlap by one item, so every training position is
    a target exactly once per epoch. Sequences shorter than 2 give no window.
    """
    out = []
    for s in sequences:
        end = len(s)
        while end >= 2:
            out.append(s[max(0, end - max_len - 1):end])
            if not all_windows:
                break
            end -= max_len
    return out


def shuffled_batches(windows: list[list[int]], batch_size: int, rng: random.Random) -> Iterator[list[list[int]]]:
    """Batches drawn uniformly at random (mixed lengths), as the reference SASRec+ trains."""
    order = list(range(len(windows)))
    rng.shuffle(order)
    for start in range(0, len(order), batch_size):
        yield [windows[i] for i in order[start:start + batch_size]]


def batches_by_length(windows: list[list[int]], batch_size: int, rng: random.Random) -> Iterator[list[list[int]]]:
    """Shuffled batches of windows of similar length (less padding), in random order."""
    order = list(range(len(windows)))
    rng.shuffle(order)
    # Sort within chunks of 50 batches by length, then shuffle the batches.
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: len(windows[i]))
        batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    for b in batches:
        yield [windows[i] for i in b]
