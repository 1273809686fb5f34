"""Settings change atomically: a racing reader never fails, and no leftover locks a model out.

Issue 11, defect 2. ``configure`` used to set the new per-key tags first and delete the old form
afterwards; a cut in between, or two racing ``configure`` calls, left both ``retrain_cost`` and
its parts stored, and from then on every ``advise`` and ``configure`` failed. The settings are
now one document in one registered-model tag (``staleness.config``), against the session's real
``mlflow server``:

- two ``configure`` loops (the total, then all four parts, and back) race one ``advise`` loop
  of ``ADVICE_CALLS`` calls: no advice call fails, and each used one of the stored costs whole;
- the leftovers of an interrupted change of the old form (a total and its parts, per key) and
  of the new form (the document written, the old per-key tags not yet removed) are advised on;
- ``configure --reset`` removes every stored setting, the damaged ones too.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from bad_inputs import LABEL, PRED, reference_frame, window_frame
from click.testing import CliRunner
from mlflow_servers import MlflowServer
from registry_helpers import client_for, register_version, unique_name

from mlflow_staleness.advisor import Advisor
from mlflow_staleness.cli import main
from mlflow_staleness.exceptions import InvalidInputError

#: The advice calls made while two configure loops run: about 10 s on a lightly loaded machine
#: (70 s under a load of 15).
ADVICE_CALLS = 4
#: A pause between configure calls, so that the loops share the cores with the advice.
CONFIGURE_PAUSE = 0.05
TOTAL = {"retrain_cost": 100.0, "error_cost": 1.0, "predictions_per_step": 100.0}
PARTS = {"compute_cost": 10.0, "people_cost": 20.0, "data_cost": 30.0, "risk_cost": 40.0}
#: The retrain costs the racing configure loops store: the total, or the sum of the parts.
STORED_RETRAIN_COSTS = {100.0, 100.0 + 1.0, sum(PARTS.values()), sum(PARTS.values()) + 1.0}
LEFTOVERS = {
    "staleness.config.retrain_cost": "100.0",
    "staleness.config.compute_cost": "60.0",
    "staleness.config.people_cost": "40.0",
    "staleness.config.error_cost": "1.0",
    "staleness.config.predictions_per_step": "100.0",
}


def _model(uri: str, prefix: str) -> str:
    name = unique_name(prefix)
    register_version(uri, name, reference_frame(), target=LABEL, alias="champion", log_model=False)
    return name


def _stored(uri: str, name: str) -> dict[str, str]:
    tags = client_for(uri).get_registered_model(name).tags
    return {k: v for k, v in tags.items() if k.startswith("staleness.config")}


def test_configure_racing_advise_never_fails_an_advice(mlflow_server: MlflowServer) -> None:
    uri = mlflow_server.uri
    name = _model(uri, "race-configure")
    Advisor(name, tracking_uri=uri).configure(TOTAL)
    stop = threading.Event()
    failures: dict[str, list[str]] = {"advise": [], "configure": []}
    done = {"advise": 0, "configure": 0}
    costs: list[float] = []

    def configure_loop(extra: float) -> None:
        advisor = Advisor(name, tracking_uri=uri)
        flip = False
        while not stop.is_set():
            flip = not flip
            layer = {**PARTS, "risk_cost": PARTS["risk_cost"] + extra} if flip else {
                "retrain_cost": TOTAL["retrain_cost"] + extra
            }  # fmt: skip
            try:
                advisor.configure(layer)
                done["configure"] += 1
            except Exception as exc:  # counted, judged below
                failures["configure"].append(f"{type(exc).__name__}: {exc}")
            time.sleep(CONFIGURE_PAUSE)

    def advise_loop() -> None:
        frame = window_frame()
        for step in range(ADVICE_CALLS):
            try:
                rec = Advisor(name, tracking_uri=uri).advise(
                    frame, labels=LABEL, predictions=PRED, window=f"w{step % 3}"
                )
                costs.append(rec.retrain_cost)
                done["advise"] += 1
            except Exception as exc:  # counted, judged below
                failures["advise"].append(f"{type(exc).__name__}: {exc}")
        stop.set()

    threads = [
        threading.Thread(target=configure_loop, args=(0.0,)),
        threading.Thread(target=configure_loop, args=(1.0,)),
        threading.Thread(target=advise_loop),
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    stop.set()
    print(
        f"\nconfigure racing advise for {time.monotonic() - started:.0f} s: "
        f"{done['advise']} advice calls, "
        f"{len(failures['advise'])} failed; {done['configure']} configure calls, "
        f"{len(failures['configure'])} failed"
    )
    assert not failures["advise"], failures["advise"][:3]
    assert not failures["configure"], failures["configure"][:3]
    assert done["advise"] == ADVICE_CALLS, done
    assert done["configure"] >= ADVICE_CALLS, done  # the settings did change meanwhile
    assert set(costs) <= STORED_RETRAIN_COSTS, costs  # each advice saw one whole document
    # the stored settings are one document, readable, with one form of the retrain cost
    stored = _stored(uri, name)
    assert list(stored) == ["staleness.config"], stored
    settings = json.loads(stored["staleness.config"])["settings"]
    assert ("retrain_cost" in settings) != ("compute_cost" in settings), settings


def test_leftovers_of_an_old_interrupted_configure_are_advised_on(
    mlflow_server: MlflowServer,
) -> None:
    uri = mlflow_server.uri
    name = _model(uri, "leftover-old")
    for key, value in LEFTOVERS.items():  # what an old configure cut in the middle left
        client_for(uri).set_registered_model_tag(name, key, value)
    rec = Advisor(name, tracking_uri=uri).advise(
        window_frame(), labels=LABEL, predictions=PRED, window="w1"
    )
    assert rec.retrain_cost == 100.0  # the total wins over the parts stored beside it
    # a configure repairs: one document, the per-key tags gone
    Advisor(name, tracking_uri=uri).configure({"error_cost": 2.0})
    stored = _stored(uri, name)
    assert list(stored) == ["staleness.config"], stored
    assert json.loads(stored["staleness.config"])["settings"] == {
        "retrain_cost": 100.0,
        "error_cost": 2.0,
        "predictions_per_step": 100.0,
    }


def test_a_document_beside_per_key_leftovers_wins(mlflow_server: MlflowServer) -> None:
    """A new configure cut after its document, before removing the old per-key tags."""
    uri = mlflow_server.uri
    name = _model(uri, "leftover-new")
    Advisor(name, tracking_uri=uri).configure(
        {**PARTS, "error_cost": 1.0, "predictions_per_step": 100.0}
    )
    for key, value in LEFTOVERS.items():
        client_for(uri).set_registered_model_tag(name, key, value)
    rec = Advisor(name, tracking_uri=uri).advise(
        window_frame(), labels=LABEL, predictions=PRED, window="w1"
    )
    assert rec.retrain_cost == sum(PARTS.values())


def test_configure_reset_repairs_any_stored_state(mlflow_server: MlflowServer) -> None:
    uri = mlflow_server.uri
    name = _model(uri, "reset")
    client = client_for(uri)
    for key, value in LEFTOVERS.items():
        client.set_registered_model_tag(name, key, value)
    client.set_registered_model_tag(name, "staleness.config", "{damaged")
    with pytest.raises(InvalidInputError, match=r"staleness\.config.*configure .*--reset"):
        Advisor(name, tracking_uri=uri).advise(window_frame(), labels=LABEL, predictions=PRED)

    dry = CliRunner().invoke(
        main, ["configure", name, "--reset", "--dry-run", "--tracking-uri", uri]
    )
    assert dry.exit_code == 0, dry.output
    assert _stored(uri, name)  # a dry run removes nothing
    reset = CliRunner().invoke(main, ["configure", name, "--reset", "--tracking-uri", uri])
    assert reset.exit_code == 0, reset.output
    assert _stored(uri, name) == {}

    args = ["configure", name, "--retrain-cost", "50", "--error-cost", "1"]
    again = CliRunner().invoke(
        main, [*args, "--predictions-per-step", "100", "--tracking-uri", uri]
    )
    assert again.exit_code == 0, again.output
    assert "  retrain_cost = 50.0" in again.stdout.splitlines()
    rec = Advisor(name, tracking_uri=uri).advise(
        window_frame(), labels=LABEL, predictions=PRED, window="w1"
    )
    assert rec.retrain_cost == 50.0


def test_configure_reset_with_settings_replaces_the_stored_ones(
    mlflow_server: MlflowServer,
) -> None:
    uri = mlflow_server.uri
    name = _model(uri, "reset-replace")
    Advisor(name, tracking_uri=uri).configure({**TOTAL, "currency": "EUR"})
    stored = Advisor(name, tracking_uri=uri).configure({"retrain_cost": 7.0}, reset=True)
    assert stored == {"staleness.config.retrain_cost": "7.0"}
    document = json.loads(_stored(uri, name)["staleness.config"])
    assert document["settings"] == {"retrain_cost": 7.0}
    assert document["revision"] == 2  # revisions go on counting across a reset
