"""Where the words of a request stand, for the safety checker: who is moved, and onto whom.

Why positions: the word lists say *that* a cat or a child is mentioned, not what happens to
them. "Put the cup next to the cat" is fine, "put the cat in the bowl" is not; "put the ball in
the child's hand" is a hand-over, "put the heavy block on his foot" is not. The order of the
nouns and of the relation words ("in", "on", "next to"; case endings in Turkish) tells them
apart well enough for commands, in every language, with no parser of its own.
"""
from __future__ import annotations

from planner.lexicon_parser import Match


class Scene:
    """Who is where in a request, from word positions: the nouns said (things, fixtures, people,
    animals, body parts) and the relation words that make one of them a destination."""

    MOVING = ("pick", "put", "push", "swap", "stack")

    def __init__(self, found: list[Match], words: list[Match], marker: str, text: str = "") -> None:
        nouns = sorted([m for m in found if m.cat == "living"] + [w for w in words if w.cat in ("kind", "fixture")],
                       key=lambda m: (m.start, -m.end))
        self.nouns = [n for i, n in enumerate(nouns) if not any(o.end > n.start for o in nouns[:i])]  # no overlaps
        self.found, self.words, self.marker, self.text = found, words, marker, text

    def landmark(self, rel: Match) -> Match | None:
        """The noun a relation word is about: the next one after a preposition (skipping an owner:
        "in her bowl"), the one before a postposition or case ending; none when another relation word
        stands between ("juu, karibu na mtoto": on top, next to the child, is not on the child)."""
        marks = [w.start for w in self.words if w.cat in ("relation", "side") and w is not rel]
        if self.marker == "after":
            before = [n for n in self.nouns if n.end <= rel.start]
            return before[-1] if before and not any(before[-1].end <= m < rel.start for m in marks) else None
        after = [n for n in self.nouns if n.start >= rel.end]
        if after and any(rel.end <= m < after[0].start for m in marks):
            return None
        if len(after) > 1 and alive(after[0]) and self.owns(after[0], after[1]):
            return after[1]
        return after[0] if after else None

    def owns(self, owner: Match, thing: Match) -> bool:
        """Is `owner` the owner (or recipient) of the thing named right after it: a kind, with no
        relation, side or verb between ("her bowl", "the cat's bowl", "bring the child the cup")?"""
        return thing.cat == "kind" and not any(owner.end <= w.start < thing.start for w in self.words
                                               if w.cat in ("relation", "side", "action"))

    def onto_living(self, relations: tuple[str, ...]) -> bool:
        """Is a person or an animal (or a body part) the destination ("on his foot", "op de kat")?"""
        return any(alive(n) for r in self.words if r.cat == "relation" and r.value in relations
                   if (n := self.landmark(r)) is not None)

    def moves_living(self) -> bool:
        """Is the first thing named, the one a move is about, a person or an animal ("lift the cat",
        "coge al gato y mételo en el cuenco")? Not when it is a destination ("next to the dog"), nor
        when a thing follows it with no relation or verb between: then it is an owner ("her cup",
        "the cat's bowl") or a recipient ("bring the child the cup"); nor when something is given."""
        acts = {w.value for w in self.words if w.cat == "action"}
        if not self.nouns or not alive(first := self.nouns[0]) or "give" in acts or not acts & set(self.MOVING):
            return False
        if any(self.landmark(w) is first for w in self.words if w.cat in ("relation", "side")):
            return False
        return self.object_of_move(first) and not (len(self.nouns) > 1 and self.owns(first, self.nouns[1]))

    def object_of_move(self, noun: Match) -> bool:
        """Does a move verb stand next to `noun` on the side its object stands (after the verb; before
        it with postpositions, Turkish "kediyi al"), with at most two short words between ("pick up
        the", "coge al")? "Pose la gamelle du chat" moves the bowl, not the cat."""
        moves = [w for w in self.words if w.cat == "action" and w.value in self.MOVING]
        if not self.text:
            return bool(moves)
        gaps = [self.text[noun.end:w.start] if self.marker == "after" else self.text[w.end:noun.start]
                for w in moves if (w.start >= noun.end if self.marker == "after" else w.end <= noun.start)]
        return any(len(g.split()) <= 2 and all(len(x) <= 3 for x in g.split()) for g in gaps)


def alive(m: Match) -> bool:
    return m.cat == "living" or is_person_word(m)


def is_person_word(m: Match) -> bool:
    return m.cat == "fixture" and m.value == "person"
