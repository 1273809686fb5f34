"""Settings from three layers: flags, a cost file, and the model's stored tags."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlflow_staleness._terminal import has_control
from mlflow_staleness.exceptions import InvalidCostError, InvalidInputError
from mlflow_staleness.losses import METRICS
from mlflow_staleness.policies import DEFAULT, POLICIES
from mlflow_staleness.settings import (
    ALL_KEYS,
    CONFIG_PREFIX,
    COST_KEYS,
    PARTS,
    check_layer,
    config_tags,
    read_cost_file,
    resolve,
    stored_settings,
)

BASE = {"retrain_cost": 400.0, "error_cost": 0.5, "predictions_per_step": 2000.0}


def tags(**values: object) -> dict[str, str]:
    return {CONFIG_PREFIX + key: str(value) for key, value in values.items()}


# ------------------------------------------------------------------------------ precedence
def test_defaults() -> None:
    s = resolve([BASE])
    assert s.cost.retrain_cost == 400.0
    assert s.cost.compute_cost == 400.0  # the total lands on compute_cost
    assert s.cost.error_cost == 0.5
    assert s.cost.predictions_per_step == 2000.0
    assert s.cost.currency == "USD"
    assert s.strategy == DEFAULT
    assert s.alias == "champion"
    assert s.alias_given is False
    assert s.loss_key is None


def test_first_layer_wins_over_later_layers_over_stored_tags() -> None:
    stored = tags(
        retrain_cost=1, error_cost=1, predictions_per_step=1, currency="GBP", alias="prod"
    )
    s = resolve(
        [{"error_cost": 3.0}, {"error_cost": 2.0, "predictions_per_step": 20.0}],
        stored_tags=stored,
    )
    assert s.cost.error_cost == 3.0  # first layer
    assert s.cost.predictions_per_step == 20.0  # second layer, over the stored 1
    assert s.cost.retrain_cost == 1.0  # stored
    assert s.cost.currency == "GBP"
    assert s.alias == "prod"
    assert s.alias_given is True


def test_stored_tags_alone_are_enough() -> None:
    s = resolve(
        [],
        stored_tags={
            **tags(
                retrain_cost="400",
                error_cost="0.5",
                predictions_per_step="2000",
                strategy="threshold",
                loss_key="val_loss",
            ),
            "other.tag": "ignored",
        },
    )
    assert (s.cost.retrain_cost, s.cost.error_cost, s.cost.predictions_per_step) == (
        400.0,
        0.5,
        2000.0,
    )
    assert s.strategy == "threshold"
    assert s.loss_key == "val_loss"


def test_none_values_in_a_layer_do_not_override() -> None:
    s = resolve([{"error_cost": None, "alias": None}, BASE])
    assert s.cost.error_cost == 0.5
    assert s.alias_given is False


def test_retrain_cost_in_a_higher_layer_replaces_lower_parts() -> None:
    stored = tags(
        compute_cost=100, people_cost=200, risk_cost=50, error_cost=1, predictions_per_step=10
    )
    s = resolve([{"retrain_cost": 40.0}], stored_tags=stored)
    assert s.cost.retrain_cost == 40.0
    assert s.cost.retrain_parts == {"compute": 40.0, "people": 0.0, "data": 0.0, "risk": 0.0}


def test_some_parts_over_a_lower_retrain_cost_are_refused() -> None:
    # a part alone over a stored total could break it down or add to it: refused, never dropped
    stored = tags(retrain_cost=1000, error_cost=1, predictions_per_step=10)
    with pytest.raises(InvalidCostError, match=r"people_cost.*retrain_cost=1000\.0"):
        resolve([{"people_cost": 30.0}], stored_tags=stored)


def test_all_four_parts_in_a_higher_layer_replace_a_lower_retrain_cost() -> None:
    stored = tags(retrain_cost=1000, error_cost=1, predictions_per_step=10)
    parts = {"compute_cost": 1.0, "people_cost": 30.0, "data_cost": 5.0, "risk_cost": 0.0}
    s = resolve([parts], stored_tags=stored)
    assert s.cost.retrain_cost == 36.0
    assert (s.cost.people_cost, s.cost.data_cost, s.cost.compute_cost) == (30.0, 5.0, 1.0)


def test_parts_from_several_layers_add_up() -> None:
    s = resolve(
        [{"risk_cost": 7.0}, {"compute_cost": 3.0, "risk_cost": 1.0}],
        stored_tags=tags(error_cost=1, predictions_per_step=1),
    )
    assert s.cost.risk_cost == 7.0
    assert s.cost.compute_cost == 3.0
    assert s.cost.retrain_cost == 10.0


def test_parts_in_the_first_layer_over_a_retrain_cost_of_a_later_layer_are_refused() -> None:
    with pytest.raises(InvalidCostError, match="compute_cost"):
        resolve([{"compute_cost": 2.0}, {"retrain_cost": 100.0, "error_cost": 1.0}, BASE])


@pytest.mark.parametrize("part", PARTS)
def test_total_and_part_in_one_layer_raise(part: str) -> None:
    with pytest.raises(InvalidCostError, match=part):
        resolve([{**BASE, part: 1.0}])


@pytest.mark.parametrize("part", PARTS)
def test_stored_per_key_total_and_part_left_by_an_interrupted_configure_read_as_the_total(
    part: str,
) -> None:
    stored = tags(retrain_cost=7, error_cost=1, predictions_per_step=1, **{part: 1})
    assert resolve([], stored_tags=stored).cost.retrain_cost == 7.0


# ------------------------------------------------------------------------------ validation
def test_unknown_key_is_named() -> None:
    with pytest.raises(InvalidInputError, match="'retrain_costs'") as info:
        resolve([{**BASE, "retrain_costs": 1.0}])
    assert not isinstance(info.value, InvalidCostError)
    assert "retrain_cost" in str(info.value)  # the known ones are listed
    with pytest.raises(InvalidInputError, match="'colour'"):
        resolve([BASE], stored_tags={CONFIG_PREFIX + "colour": "blue"})


@pytest.mark.parametrize("key", ["retrain_cost", *PARTS, "error_cost", "predictions_per_step"])
@pytest.mark.parametrize("value", [-1.0, math.nan, math.inf, "lots", True, [1.0]])
def test_bad_numbers_are_named(key: str, value: object) -> None:
    layer = {"error_cost": 1.0, "predictions_per_step": 1.0, key: value}
    with pytest.raises(InvalidCostError, match=key):
        resolve([layer])


def test_numbers_as_text_are_read() -> None:
    s = resolve([{"retrain_cost": "12.5", "error_cost": "1e-3", "predictions_per_step": "10"}])
    assert s.cost.retrain_cost == 12.5
    assert s.cost.error_cost == 0.001
    assert s.cost.alpha == 12.5 / (0.001 * 10)


def test_negative_stored_cost_is_named() -> None:
    with pytest.raises(InvalidCostError, match="error_cost") as info:
        resolve([], stored_tags=tags(retrain_cost=1, error_cost=-2, predictions_per_step=1))
    assert "staleness.config" in str(info.value)


@pytest.mark.parametrize("missing", ["error_cost", "predictions_per_step", "retrain_cost"])
def test_a_missing_cost_points_to_configure(missing: str) -> None:
    layer = {key: value for key, value in BASE.items() if key != missing}
    with pytest.raises(InvalidCostError, match="configure") as info:
        resolve([layer], model_name="fraud")
    message = str(info.value)
    assert missing in message
    assert "--" + missing.replace("_", "-") in message
    assert "fraud" in message


def test_zero_error_cost_is_rejected() -> None:
    with pytest.raises(InvalidCostError, match="error_cost"):
        resolve([{**BASE, "error_cost": 0.0}])


def test_unknown_strategy_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidInputError, match="'smart'") as info:
        resolve([{**BASE, "strategy": "smart"}])
    for name in POLICIES:
        assert name in str(info.value)
    with pytest.raises(InvalidInputError, match="'smart'"):
        resolve([BASE], stored_tags=tags(strategy="smart"))


@pytest.mark.parametrize("key", ["currency", "alias", "loss_key", "strategy"])
@pytest.mark.parametrize("value", ["", "   ", 5])
def test_text_settings_must_be_non_empty_strings(key: str, value: object) -> None:
    with pytest.raises(InvalidInputError, match=key):
        resolve([{**BASE, key: value}])


def test_text_settings_are_stripped() -> None:
    s = resolve([{**BASE, "currency": " EUR ", "alias": " prod ", "strategy": " cumulative "}])
    assert s.cost.currency == "EUR"
    assert s.alias == "prod"
    assert s.strategy == "cumulative"


# ------------------------------------------------------------------------------ cost files
def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "costs.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_cost_file_top_level(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'retrain_cost = 400\nerror_cost = 0.5\npredictions_per_step = 2000\ncurrency = "EUR"\n',
    )
    layer = read_cost_file(path)
    assert layer == {
        "retrain_cost": 400.0,
        "error_cost": 0.5,
        "predictions_per_step": 2000.0,
        "currency": "EUR",
    }
    assert resolve([layer]).cost.currency == "EUR"


def test_cost_file_costs_table(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'strategy = "threshold"\n[costs]\ncompute_cost = 300\npeople_cost = 500\n'
        "error_cost = 0.5\npredictions_per_step = 10000\n",
    )
    layer = read_cost_file(str(path))
    assert layer == {
        "strategy": "threshold",
        "compute_cost": 300.0,
        "people_cost": 500.0,
        "error_cost": 0.5,
        "predictions_per_step": 10000.0,
    }
    s = resolve([layer])
    assert s.cost.alpha == 0.16
    assert s.strategy == "threshold"


def test_missing_cost_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(InvalidInputError, match="does not exist") as info:
        read_cost_file(path)
    assert "nope.toml" in str(info.value)


def test_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not readable TOML"):
        read_cost_file(write(tmp_path, "retrain_cost = = 4\n"))


def test_cost_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "costs.toml"
    path.write_bytes(b'currency = "\xff"\n')
    with pytest.raises(InvalidInputError, match="not readable TOML"):
        read_cost_file(path)


def test_cost_file_unknown_keys(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="'budget'") as info:
        read_cost_file(write(tmp_path, "[costs]\nbudget = 4\n"))
    assert "costs.toml" in str(info.value)
    with pytest.raises(InvalidInputError, match="'model'"):
        read_cost_file(write(tmp_path, "error_cost = 1\n[model]\nname = 'x'\n"))


def test_cost_file_bad_number_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidCostError, match="people_cost"):
        read_cost_file(write(tmp_path, "[costs]\npeople_cost = -3\n"))
    with pytest.raises(InvalidCostError, match="retrain_cost"):
        read_cost_file(write(tmp_path, "retrain_cost = 1\n[costs]\ndata_cost = 2\n"))


# ------------------------------------------------------------------------------ config tags
def test_config_tags_format() -> None:
    out = config_tags({"retrain_cost": 400, "error_cost": 0.1, "currency": "EUR"})
    assert out == {
        "staleness.config.retrain_cost": "400.0",
        "staleness.config.error_cost": "0.1",
        "staleness.config.currency": "EUR",
    }


NUMBER = st.floats(min_value=0.0, allow_nan=False, allow_infinity=False)
# One line, no control characters: a setting with one is refused (issue 11, defect 8)
WORD = (
    st.text(min_size=1, max_size=20)
    .map(str.strip)
    .filter(lambda text: bool(text) and not has_control(text))
)


@st.composite
def layers(draw: st.DrawFn) -> dict[str, object]:
    keys = draw(st.sets(st.sampled_from(ALL_KEYS)))
    if "retrain_cost" in keys:
        keys -= set(PARTS)
    layer: dict[str, object] = {}
    for key in keys:
        if key == "strategy":
            layer[key] = draw(st.sampled_from(sorted(POLICIES)))
        elif key == "metric":
            layer[key] = draw(st.sampled_from(sorted(METRICS)))
        elif key in ("currency", "alias", "loss_key"):
            layer[key] = draw(WORD)
        else:
            layer[key] = draw(NUMBER)
    return layer


@given(layers())
def test_config_tags_round_trip_exactly(layer: dict[str, object]) -> None:
    checked = check_layer(layer, "test")
    stored = config_tags(checked)
    assert all(key.startswith(CONFIG_PREFIX) for key in stored)
    assert all(isinstance(value, str) for value in stored.values())
    back = stored_settings(stored)
    assert back == checked
    for key in COST_KEYS:
        if key in checked and key != "currency":
            assert type(back[key]) is float
            assert back[key] == checked[key]  # exact: floats are written with repr
