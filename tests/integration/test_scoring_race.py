"""Two evaluations of the same lead at once (the stream functions run side by side: a new lead's
interaction, contact and lead changes each rescore it) write its score once, not twice: the score
write is a compare-and-set on the score each evaluation read (``services/scoring.py: _replace``).
Found when the local pump gave each stream its own thread (issue 19, item 4): the console's timeline
showed the first score twice, each "from nothing"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from chalicelib.domain.entities import Lead
from chalicelib.domain.scoring import Score
from chalicelib.services.scoring import _replace

MODEL: Any = SimpleNamespace(model_id="m", ages=False)  # what _replace reads of a model


def test_a_score_write_fails_when_the_score_read_was_replaced_meanwhile(deps: Any):
    now = datetime.now(UTC)
    lead = Lead("l_race", "c_race", {}, now, now)
    first = Score("m", 1, now, 70, "B", True, ())
    assert deps.scoring.put_score(lead, first, False, None, compare=True)
    same_moment = Score("m", 1, now, 70, "B", True, ())
    assert deps.scoring.put_score(lead, same_moment, False, None, compare=True) is False, (
        "read none, one is there"
    )
    later = Score("m", 1, now + timedelta(seconds=1), 85, "A", True, ())
    assert deps.scoring.put_score(lead, later, False, first, compare=True)
    assert deps.scoring.scores_of("l_race")["m"].score == 85


def test_the_evaluation_that_loses_the_race_writes_nothing_when_the_winner_has_its_result(deps: Any):
    now = datetime.now(UTC)
    lead = Lead("l_twice", "c_twice", {}, now, now)
    mine = Score("m", 1, now, 70, "B", True, ())
    theirs = Score("m", 1, now, 70, "B", True, ())
    written, replaced = _replace(deps, lead, MODEL, mine, None, now)  # both read "no score"
    assert written is not None and replaced is None
    written, replaced = _replace(deps, lead, MODEL, theirs, None, now)
    assert written is None, "the loser re-read the winner's score: the same result, nothing to write"
    assert replaced is not None and replaced.score == 70


def test_the_evaluation_that_loses_the_race_still_writes_a_different_result_after_the_winner(deps: Any):
    now = datetime.now(UTC)
    lead = Lead("l_after", "c_after", {}, now, now)
    _replace(deps, lead, MODEL, Score("m", 1, now, 70, "B", True, ()), None, now)
    later = Score("m", 1, now + timedelta(seconds=1), 85, "A", True, ())
    written, replaced = _replace(deps, lead, MODEL, later, None, now)  # read before the first was written
    assert written is not None and written.previous_score == 70 and replaced is not None
    assert deps.scoring.scores_of("l_after")["m"].score == 85


def test_an_older_evaluation_that_loses_the_race_writes_nothing(deps: Any):
    now = datetime.now(UTC)
    lead = Lead("l_old", "c_old", {}, now, now)
    _replace(deps, lead, MODEL, Score("m", 1, now, 85, "A", True, ()), None, now)
    older = Score("m", 1, now - timedelta(seconds=5), 40, "C", False, ())
    written, _ = _replace(deps, lead, MODEL, older, None, now)
    assert written is None
    assert deps.scoring.scores_of("l_old")["m"].score == 85
