"""Agreement between people: blind double coding, settling one version, and agreement figures.

- A curator starts a round on a story and chooses a colleague; both code its passages alone
  (their choices are kept here, not as tags), then mark their coding finished.
- Once both have finished, both see where they differ; either settles one version, which is
  written through ``storyhub.themes.services`` (``add_tag``, ``reject``), so search, the
  dashboard and the tagger's learning see it as any curator's decision.
- Agreement figures use well-kept libraries rather than our own arithmetic: Cohen's kappa from
  scikit-learn and Krippendorff's alpha from ``krippendorff`` (nominal). The unit is one passage
  and one label (a subtheme, or a kind: "any subtheme of this kind"), present or absent.

Who may code a story is asked of consent/ (``can_tag_themes``); which stories a figure counts is
a SQL condition from consent/ given by the caller (``viewable_stories`` for staff pages,
``counted_stories`` on the dashboard).
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import krippendorff
import numpy as np
from flask_babel import gettext as _
from flask_babel import lazy_gettext, ngettext
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import ColumnElement, and_, delete, or_, select

from consent import can_tag_themes
from consent.models import ConsentVersion
from consent.policy import counted_stories
from storyhub import audit
from storyhub.agreement.models import BlindChoice, BlindRound, BlindUnit
from storyhub.extensions import db
from storyhub.models import Passage, Role, Story, User, utcnow
from storyhub.themes import services as themes
from storyhub.themes.models import PassageTheme, Subtheme, TagStatus, ThemeKind

CODER_ROLES = (Role.CURATOR, Role.ADMIN)
# Below this many passages a figure says "too few to tell": with fewer, one passage more or less
# moves kappa by a band or more.
MIN_PASSAGES = 20

# Landis and Koch (1977): words for how far agreement goes beyond chance.
# Lazy: the words are read in the language of the page that shows them.
BANDS = (
    (0.0, lazy_gettext("poor: no better than chance")),
    (0.20, lazy_gettext("slight")),
    (0.40, lazy_gettext("fair")),
    (0.60, lazy_gettext("moderate")),
    (0.80, lazy_gettext("substantial")),
    (1.0, lazy_gettext("almost perfect")),
)


class AgreementError(ValueError):
    """Something that can't be done as asked; the message is shown to the person as it is."""


def band(value: float) -> str:
    """Landis and Koch's word for a kappa (or alpha) value."""
    if value <= 0:
        return str(BANDS[0][1])
    for top, word in BANDS[1:]:
        if value <= top + 1e-9:
            return str(word)
    return str(BANDS[-1][1])


# -- starting, coding, finishing -------------------------------------------------------------


def colleagues(story: Story, by: User) -> list[User]:
    """Who ``by`` may ask to code ``story`` with them: other active curators and administrators
    who may tag it."""
    people = db.session.scalars(
        select(User)
        .where(User.role.in_(CODER_ROLES), User.active.is_(True), User.id != by.id)
        .order_by(User.display_name, User.id)
    )
    return [p for p in people if can_tag_themes(p, story)]


def open_round(story: Story) -> BlindRound | None:
    """The story's round not yet settled, if there is one (a story has one at a time)."""
    return db.session.scalar(
        select(BlindRound)
        .where(BlindRound.story_id == story.id, BlindRound.settled_at.is_(None))
        .limit(1)
    )


def start_round(story: Story, by: User, colleague_id: int | None) -> BlindRound:
    """Start coding ``story`` blind: ``by`` and the colleague each code every passage alone."""
    if not can_tag_themes(by, story):
        raise AgreementError(_("You can't code themes on this story."))
    colleague = next((p for p in colleagues(story, by) if p.id == colleague_id), None)
    if colleague is None:
        raise AgreementError(_("Please choose a colleague from the list."))
    if not story.passages:
        raise AgreementError(_("This story has no words to code yet."))
    if open_round(story) is not None:
        raise AgreementError(
            _(
                "Two people are already coding this story blind. Another can start once they "
                "have settled it."
            )
        )
    blind = BlindRound(story=story, first_coder_id=by.id, second_coder_id=colleague.id)
    blind.units = [BlindUnit(passage_id=p.id) for p in story.passages]
    db.session.add(blind)
    db.session.flush()
    audit.record(
        "agreement.started",
        actor=by,
        object_type="story",
        object_id=story.id,
        round=blind.id,
        colleague=colleague.id,
    )
    return blind


def round_for(user: User, round_id: int) -> BlindRound | None:
    """The round if ``user`` is one of its coders and may still tag its story; otherwise None
    (the page then says "not found", so other people's rounds can't be probed)."""
    blind = db.session.get(BlindRound, round_id)
    if blind is None or user.id not in blind.coder_ids():
        return None
    if not can_tag_themes(user, blind.story):
        return None
    return blind


def rounds_of(user: User) -> list[BlindRound]:
    """``user``'s own rounds, newest first, as far as they may still tag the stories."""
    found = db.session.scalars(
        select(BlindRound)
        .where(or_(BlindRound.first_coder_id == user.id, BlindRound.second_coder_id == user.id))
        .order_by(BlindRound.started_at.desc(), BlindRound.id.desc())
    )
    return [r for r in found if can_tag_themes(user, r.story)]


def passages_of(blind: BlindRound) -> list[Passage]:
    """The round's passages that still exist, in the story's order."""
    ids = {u.passage_id for u in blind.units}
    return [p for p in blind.story.passages if p.id in ids]


def offered_subthemes(blind: BlindRound) -> list[Subtheme]:
    """The subthemes both coders were asked about: those that existed when the round began."""
    started = _naive(blind.started_at)
    return [s for s in themes.all_subthemes() if _naive(s.created_at) <= started]


def subthemes_by_kind(blind: BlindRound) -> list[tuple[ThemeKind, list[Subtheme]]]:
    """The offered subthemes, grouped by kind (kinds with none left out)."""
    offered = offered_subthemes(blind)
    groups = [(kind, [s for s in offered if s.kind == kind]) for kind in ThemeKind]
    return [(kind, subs) for kind, subs in groups if subs]


def _naive(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes, PostgreSQL aware ones: compare them as UTC either way.
    return moment.replace(tzinfo=None)


def is_finished(blind: BlindRound, coder: User) -> bool:
    """Whether ``coder`` has marked their coding of this round finished."""
    if coder.id == blind.first_coder_id:
        return blind.first_finished_at is not None
    return blind.second_finished_at is not None


def choices_of(blind: BlindRound, coder_id: int) -> dict[int, set[int]]:
    """passage id -> subtheme ids that one coder chose."""
    chosen: dict[int, set[int]] = defaultdict(set)
    for choice in blind.choices:
        if choice.coder_id == coder_id:
            chosen[choice.passage_id].add(choice.subtheme_id)
    return chosen


def save_choices(
    blind: BlindRound, coder: User, chosen: Mapping[int, set[int]], *, finished: bool
) -> None:
    """Keep ``coder``'s choices (replacing their earlier ones); ``finished`` marks them done.

    A passage or theme the round does not offer raises ``AgreementError`` (a forged form).
    """
    passages = {p.id for p in passages_of(blind)}
    offered = {s.id for s in offered_subthemes(blind)}
    if not set(chosen) <= passages:
        raise AgreementError(_("That passage is not part of this coding. Please try again."))
    if any(not ids <= offered for ids in chosen.values()):
        raise AgreementError(_("Please choose themes from the list on the page."))
    if blind.settled:
        raise AgreementError(_("This coding has been settled already, so it can't change now."))
    if is_finished(blind, coder):
        raise AgreementError(_("You have finished your coding, so it can't change now."))
    for choice in [c for c in blind.choices if c.coder_id == coder.id]:
        blind.choices.remove(choice)
    db.session.flush()
    for passage_id, subtheme_ids in chosen.items():
        for subtheme_id in sorted(subtheme_ids):
            blind.choices.append(
                BlindChoice(coder_id=coder.id, passage_id=passage_id, subtheme_id=subtheme_id)
            )
    if finished:
        if coder.id == blind.first_coder_id:
            blind.first_finished_at = utcnow()
        else:
            blind.second_finished_at = utcnow()
        audit.record(
            "agreement.finished",
            actor=coder,
            object_type="story",
            object_id=blind.story_id,
            round=blind.id,
        )
    db.session.flush()


# -- comparing and settling ----------------------------------------------------------------


@dataclass
class PassageComparison:
    passage: Passage
    text: str
    both: list[Subtheme]
    only_first: list[Subtheme]
    only_second: list[Subtheme]

    @property
    def differs(self) -> bool:
        return bool(self.only_first or self.only_second)


@dataclass
class Figure:
    """One agreement figure: kappa and alpha over ``passages`` passages (None: can't be told)."""

    label: str
    passages: int
    kappa: float | None
    alpha: float | None
    first_chose: int = 0
    second_chose: int = 0

    @property
    def enough(self) -> bool:
        return self.passages >= MIN_PASSAGES

    @property
    def measurable(self) -> bool:
        return self.kappa is not None and self.alpha is not None

    @property
    def kappa_words(self) -> str:
        return band(self.kappa) if self.kappa is not None else ""

    @property
    def alpha_words(self) -> str:
        return band(self.alpha) if self.alpha is not None else ""


@dataclass
class Comparison:
    passages: list[PassageComparison]
    figures: list[Figure]

    @property
    def differences(self) -> int:
        return sum(len(p.only_first) + len(p.only_second) for p in self.passages)


def compare(blind: BlindRound) -> Comparison:
    """Per passage, what both chose and what only one chose; and this story's figures."""
    first = choices_of(blind, blind.first_coder_id)
    second = choices_of(blind, blind.second_coder_id)
    offered = offered_subthemes(blind)
    rows = []
    for passage in passages_of(blind):
        a, b = first.get(passage.id, set()), second.get(passage.id, set())
        rows.append(
            PassageComparison(
                passage,
                themes.passage_words_text(passage),
                [s for s in offered if s.id in a and s.id in b],
                [s for s in offered if s.id in a and s.id not in b],
                [s for s in offered if s.id in b and s.id not in a],
            )
        )
    table = agreement_table(_units(BlindRound.id == blind.id), offered)
    return Comparison(rows, table.kinds + table.subthemes)


def settle(blind: BlindRound, by: User, answers: Mapping[tuple[int, int], bool]) -> int:
    """Write the settled version as curators' decisions on the passages; close the round.

    Themes both chose, and differences kept, are confirmed (``add_tag``); whole-passage themes
    waiting or confirmed that the settled version leaves out are rejected. Themes on chosen
    words (spans) are left as they are: blind coding is about whole passages. Returns how many
    themes the settled version confirms.
    """
    if by.id not in blind.coder_ids():
        raise AgreementError(_("Only the two people who coded this story can settle it."))
    if not blind.both_finished:
        raise AgreementError(_("You can settle once both of you have finished coding."))
    if blind.settled:
        raise AgreementError(_("This coding has been settled already."))
    comparison = compare(blind)
    offered = {s.id: s for s in offered_subthemes(blind)}
    confirmed = 0
    for row in comparison.passages:
        keep = {s.id for s in row.both}
        for sub in row.only_first + row.only_second:
            if answers.get((row.passage.id, sub.id)) is None:
                raise AgreementError(
                    _("Please choose “Keep it” or “Leave it out” for every theme you differ on.")
                )
            if answers[(row.passage.id, sub.id)]:
                keep.add(sub.id)
        for subtheme_id in sorted(keep):
            themes.add_tag(row.passage, offered[subtheme_id], by)
            confirmed += 1
        for tag in list(row.passage.themes):
            left_out = tag.subtheme_id in offered and tag.subtheme_id not in keep
            if left_out and not tag.is_span and tag.status != TagStatus.REJECTED:
                themes.reject(tag, by)
    blind.settled_at, blind.settled_by_id = utcnow(), by.id
    audit.record(
        "agreement.settled",
        actor=by,
        object_type="story",
        object_id=blind.story_id,
        round=blind.id,
        confirmed=confirmed,
    )
    db.session.flush()
    return confirmed


# -- agreement figures -----------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One passage of a finished round: what each coder chose (subtheme ids) and what was
    offered (subtheme ids that existed when the round began)."""

    first: frozenset[int]
    second: frozenset[int]
    offered: frozenset[int]


def _units(rounds: ColumnElement[bool]) -> list[Unit]:
    """Every passage of the rounds matching ``rounds`` (a condition on rounds and their
    stories), in three queries whatever their number: the dashboard asks on every page."""
    started = {
        row.id: row
        for row in db.session.execute(
            select(
                BlindRound.id,
                BlindRound.first_coder_id,
                BlindRound.second_coder_id,
                BlindRound.started_at,
            )
            .join(Story, BlindRound.story_id == Story.id)
            .where(rounds)
        )
    }
    if not started:
        return []
    chosen: dict[tuple[int, int, int], set[int]] = defaultdict(set)
    for round_id, coder_id, passage_id, subtheme_id in db.session.execute(
        select(
            BlindChoice.round_id,
            BlindChoice.coder_id,
            BlindChoice.passage_id,
            BlindChoice.subtheme_id,
        )
        .join(BlindRound, BlindChoice.round_id == BlindRound.id)
        .join(Story, BlindRound.story_id == Story.id)
        .where(rounds)
    ):
        chosen[(round_id, coder_id, passage_id)].add(subtheme_id)
    created = [(s.id, _naive(s.created_at)) for s in themes.all_subthemes()]
    offered = {
        round_id: frozenset(i for i, made in created if made <= _naive(row.started_at))
        for round_id, row in started.items()
    }
    units = []
    # Passages that still exist (a join after the round drops the one joined into another).
    for round_id, passage_id in db.session.execute(
        select(BlindUnit.round_id, BlindUnit.passage_id)
        .join(Passage, BlindUnit.passage_id == Passage.id)
        .join(BlindRound, BlindUnit.round_id == BlindRound.id)
        .join(Story, BlindRound.story_id == Story.id)
        .where(rounds)
        .order_by(BlindUnit.round_id, Passage.position)
    ):
        row = started[round_id]
        units.append(
            Unit(
                frozenset(chosen[(round_id, row.first_coder_id, passage_id)]),
                frozenset(chosen[(round_id, row.second_coder_id, passage_id)]),
                offered[round_id],
            )
        )
    return units


def finished(stories: ColumnElement[bool]) -> ColumnElement[bool]:
    """Rounds both coders finished (settled or not), of the stories ``stories`` allows."""
    return and_(
        stories,
        BlindRound.first_finished_at.is_not(None),
        BlindRound.second_finished_at.is_not(None),
    )


def figure(label: str, first: Sequence[int], second: Sequence[int]) -> Figure:
    """Kappa (scikit-learn) and nominal alpha (krippendorff) of two coders' 0/1 answers.

    When both coders gave one and the same answer everywhere (nobody chose it), neither figure
    is defined: both are None rather than a number that means nothing.
    """
    count = len(first)
    found = Figure(label, count, None, None, sum(first), sum(second))
    if count == 0 or len(set(first) | set(second)) < 2:
        return found
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined cases come back as nan, handled below
        kappa = float(cohen_kappa_score(list(first), list(second)))
    alpha = float(
        krippendorff.alpha(
            reliability_data=np.array([first, second], dtype=float),
            level_of_measurement="nominal",
        )
    )
    found.kappa = None if math.isnan(kappa) else kappa
    found.alpha = None if math.isnan(alpha) else alpha
    return found


@dataclass
class AgreementTable:
    kinds: list[Figure] = field(default_factory=list)
    subthemes: list[Figure] = field(default_factory=list)
    passages: int = 0


def agreement_table(
    units: Sequence[Unit], subthemes: Sequence[Subtheme], *, per_subtheme: bool = True
) -> AgreementTable:
    """Figures per kind (a passage has a kind when any of its subthemes was chosen) and, with
    ``per_subtheme``, per subtheme, each over the passages whose round offered it."""
    table = AgreementTable(passages=len(units))
    for kind in ThemeKind:
        of_kind = {s.id for s in subthemes if s.kind == kind}
        if not of_kind:
            continue
        first = [int(bool(u.first & of_kind)) for u in units]
        second = [int(bool(u.second & of_kind)) for u in units]
        table.kinds.append(figure(str(kind.label), first, second))
    for sub in subthemes if per_subtheme else ():
        sub_id = sub.id  # read once: a mapped attribute costs more than a set lookup
        asked = [u for u in units if sub_id in u.offered]
        table.subthemes.append(
            figure(
                sub.shown_label,
                [int(sub_id in u.first) for u in asked],
                [int(sub_id in u.second) for u in asked],
            )
        )
    return table


def curator_agreement(stories: ColumnElement[bool], *, per_subtheme: bool = True) -> AgreementTable:
    """Agreement between curators over every finished blind round of the stories allowed."""
    units = _units(finished(stories))
    return agreement_table(units, themes.all_subthemes(), per_subtheme=per_subtheme)


# -- the tagger's agreement with curators, month by month ---------------------------------------


@dataclass
class Month:
    month: str  # "2026-03"
    figures: list[Figure]


def tagger_agreement(stories: ColumnElement[bool]) -> list[Month]:
    """Per month (of the passage's last decision) and kind: kappa between what the tagger
    suggested and what curators confirmed, on passages a curator has finished deciding.

    A passage counts once no suggestion on it is waiting: every suggestion was confirmed or
    rejected (rejected ones are kept, so what the tagger said is still known). The tagger
    "said" a kind when it suggested any subtheme of it; curators "said" it when they confirmed
    any (their own additions included).
    """
    rows = db.session.execute(
        select(
            PassageTheme.passage_id,
            PassageTheme.status,
            PassageTheme.confidence,
            PassageTheme.decided_at,
            Subtheme.kind,
        )
        .join(Subtheme, PassageTheme.subtheme_id == Subtheme.id)
        .join(Passage, PassageTheme.passage_id == Passage.id)
        .join(Story, Passage.story_id == Story.id)
        .where(stories)
    )
    waiting: set[int] = set()
    last: dict[int, datetime] = {}
    said: dict[int, tuple[set[ThemeKind], set[ThemeKind]]] = defaultdict(lambda: (set(), set()))
    for passage_id, status, confidence, decided_at, kind in rows:
        if status == TagStatus.SUGGESTED:
            waiting.add(passage_id)
        if decided_at is not None:
            last[passage_id] = max(last.get(passage_id, decided_at), decided_at)
        tagger, curators = said[passage_id]
        if confidence is not None:
            tagger.add(kind)
        if status == TagStatus.CONFIRMED:
            curators.add(kind)
    by_month: dict[str, list[int]] = defaultdict(list)
    for passage_id, moment in last.items():
        if passage_id not in waiting:
            by_month[moment.strftime("%Y-%m")].append(passage_id)
    months = []
    for month in sorted(by_month):
        figures = []
        for kind in ThemeKind:
            ids = by_month[month]
            figures.append(
                figure(
                    str(kind.label),
                    [int(kind in said[i][0]) for i in ids],
                    [int(kind in said[i][1]) for i in ids],
                )
            )
        months.append(Month(month, figures))
    return months


# -- what the dashboard says about its counts ------------------------------------------------

# Whole sentences with named places, so that each language orders the words its own way.
NOT_MEASURED_SENTENCE = lazy_gettext(
    "How far two curators agree is not yet measured: too few passages have been coded by two "
    "people."
)


@dataclass
class Reliability:
    """How far the dashboard's counts can be trusted, as whole sentences (anonymous figures)."""

    sentences: list[str]
    measured: bool


def reliability(stories: ColumnElement[bool]) -> Reliability:
    """One sentence per kind: curators' alpha over passages two people coded, or "not yet"."""
    table = curator_agreement(stories, per_subtheme=False)  # on every dashboard page: kinds only
    sentences = []
    for kind in table.kinds:
        if kind.enough and kind.alpha is not None:
            sentences.append(
                ngettext(
                    "Curators agreed on %(kind)s themes with alpha %(alpha)s (%(words)s) over "
                    "%(num)d passage coded by two people.",
                    "Curators agreed on %(kind)s themes with alpha %(alpha)s (%(words)s) over "
                    "%(num)d passages coded by two people.",
                    kind.passages,
                    kind=kind.label,
                    alpha=f"{kind.alpha:.2f}",
                    words=kind.alpha_words,
                )
            )
    if not sentences:
        return Reliability(
            [str(NOT_MEASURED_SENTENCE)],
            measured=False,
        )
    return Reliability(sentences, measured=True)


# -- erasure -----------------------------------------------------------------------------------


def forget_story_rounds(story: Story, version: ConsentVersion) -> None:
    """Erasure deletes the story's blind coding too (its passages and tags go the same way)."""
    from consent.models import ConsentStatus

    if version.status != ConsentStatus.ERASED:
        return
    ids = list(db.session.scalars(select(BlindRound.id).where(BlindRound.story_id == story.id)))
    if not ids:
        return
    db.session.execute(delete(BlindChoice).where(BlindChoice.round_id.in_(ids)))
    db.session.execute(delete(BlindUnit).where(BlindUnit.round_id.in_(ids)))
    db.session.execute(delete(BlindRound).where(BlindRound.id.in_(ids)))


def dashboard_reliability() -> Reliability:
    """``reliability`` over the stories the dashboard counts (consent's statistics audience)."""
    return reliability(counted_stories())
