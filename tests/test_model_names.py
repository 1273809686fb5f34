"""Model names with quotes, backslashes, wildcards, spaces and unicode (issue 11, defect 5).

MLflow's filter parser (3.17, ``mlflow/utils/search_utils.py``) strips the quotes of a string
literal and unescapes nothing, so the advisor must quote a name with a quote character it does
not hold, and never escape it. A name holding both quote characters has no literal at all; the
advisor then searches with a ``LIKE`` pattern and keeps the versions of exactly that name.

The corpus runs against a real SQLite store (every version read, then an advice written and
read back); the bad-input catalogue runs two of the names against the real server, through the
API and the CLI. A property test checks the filters against MLflow's own parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from bad_inputs import LABEL, PRED, reference_frame, window_frame
from hypothesis import given, settings
from hypothesis import strategies as st
from registry_helpers import client_for, register_version, versions_of

from mlflow_staleness import CostModel
from mlflow_staleness.adapter import RegistryReader
from mlflow_staleness.adapter.reading import _name_filter
from mlflow_staleness.advisor import Advisor

COST = CostModel(compute_cost=100, error_cost=1.0, predictions_per_step=100, currency="EUR")

#: Names that broke the old backslash escaping, and names that must keep working.
NAMES = {
    "quote": "o'brien",
    "backslash": "back\\slash",
    "trailing-backslash": "ends-with\\",
    "quote-then-backslash": "it's\\",
    "percent-underscore": "50%_off",
    "space": "fraud model v2",
    "unicode": "ünïcødé-模型-✓",
    "double-quote": 'say "hi"',
    "both-quotes": 'it\'s "both"',
    "injection": "x' OR name LIKE '%",
    "semicolon": "a;b",
    "doubled-quote": "a''b",
}
#: A model whose name a ``LIKE`` pattern for some corpus name also matches: it must stay out.
DECOYS = ("it_s _both_", "50X_off", "o_brien")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One SQLite store for the module, with every corpus name and the decoys registered."""
    folder: Path = tmp_path_factory.mktemp("names")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # a SQLite store's default artifact root is ./mlruns
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        for name in (*NAMES.values(), *DECOYS):
            for seed in (1, 2):  # the served version (the second) has the reference
                register_version(
                    uri, name, reference_frame(seed=seed), target=LABEL, alias="champion",
                    log_model=False, with_reference=seed == 2 and name not in DECOYS,
                )  # fmt: skip
        yield uri


@pytest.mark.parametrize("key", list(NAMES))
def test_every_version_is_read_and_advised_whatever_the_name(store: str, key: str) -> None:
    name = NAMES[key]
    versions = RegistryReader(client_for(store)).versions(name)
    assert [v.version for v in versions] == ["1", "2"]
    assert {v.run_id for v in versions} == {v.run_id for v in versions_of(client_for(store), name)}

    advisor = Advisor(name, cost=COST, tracking_uri=store)
    rec = advisor.advise(window_frame(), labels=LABEL, predictions=PRED, window="2026-01-01")
    assert rec.model_name == name
    assert rec.version == "2"
    assert [row["advice_id"] for row in advisor.history()] == [rec.advice_id]


@pytest.mark.parametrize("name", DECOYS)
def test_a_name_matching_a_like_pattern_keeps_only_its_own_versions(store: str, name: str) -> None:
    versions = RegistryReader(client_for(store)).versions(name)
    assert [v.version for v in versions] == ["1", "2"]


# ---------------------------------------------------------------------------------- property
def _like(pattern: str) -> re.Pattern[str]:
    """A SQL ``LIKE`` pattern as a regular expression (no escape character, as MLflow's)."""
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


NAME_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("'\"\\%_ ;-()`*=\t"),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(name=NAME_TEXT)
def test_mlflow_parses_the_version_filter_back_to_the_name(name: str) -> None:
    from mlflow.utils.search_utils import SearchModelVersionUtils

    filter_string, exact = _name_filter(name)
    [clause] = SearchModelVersionUtils.parse_search_filter(filter_string)
    assert clause["key"] == "name"
    if exact:
        assert (clause["comparator"], clause["value"]) == ("=", name)
    else:
        assert clause["comparator"] == "LIKE"
        assert _like(clause["value"]).fullmatch(name)
