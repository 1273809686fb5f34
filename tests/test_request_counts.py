"""Reading for an advice costs a fixed number of requests, however many versions a model has.

A counting proxy sits in front of the session's real ``mlflow server``. One model grows to 1, 10
and 50 registered versions (built directly on the server, not counted); at each size, one dry-run
advice with labels and predictions (reads only, no model loading) goes through the proxy. Every
request counts, artifact downloads (the served version's fingerprint, the advisor's history.json)
included.
"""

from __future__ import annotations

import collections
import re

from mlflow_servers import CountingProxy, MlflowServer
from registry_helpers import (
    TARGET,
    make_frame,
    predictions_with_error,
    register_bare_versions,
    unique_name,
)

from mlflow_staleness import CostModel
from mlflow_staleness.advisor import Advisor

SIZES = (1, 10, 50)
COST = CostModel(compute_cost=50, error_cost=1.0, predictions_per_step=1000, currency="EUR")
_ID = re.compile(r"^(\d+|[0-9a-f]{32})$")


def _shape(requests: list[tuple[str, str]]) -> collections.Counter:
    """The requests with ids (run and experiment ids) blanked, as a multiset."""
    return collections.Counter(
        (method, "/".join("<id>" if _ID.match(part) else part for part in path.split("/")))
        for method, path in requests
    )


def _advise(uri: str, name: str, window: str, *, dry_run: bool) -> None:
    current = make_frame(seed=2)
    Advisor(name, cost=COST, tracking_uri=uri).advise(
        current,
        labels=TARGET,
        predictions=predictions_with_error(current[TARGET], 0.2),
        window=window,
        dry_run=dry_run,
    )


def _count_dry_run(proxy: CountingProxy, name: str) -> list[tuple[str, str]]:
    proxy.reset()
    _advise(proxy.uri, name, "w1", dry_run=True)
    return proxy.requests


def _report(title: str, counts: dict[int, list[tuple[str, str]]]) -> None:
    print(f"\nrequests of one dry-run advice, {title}:")
    for size, requests in counts.items():
        print(f"  {size:>2} versions: {len(requests)} requests")
    for (method, path), times in sorted(_shape(counts[max(counts)]).items()):
        print(f"    {times:>2} x {method} {path}")


def test_requests_of_an_advice_do_not_grow_with_the_versions(
    mlflow_server: MlflowServer, counting_proxy: CountingProxy
) -> None:
    reference = make_frame(seed=1)
    name = unique_name("counts")
    register_bare_versions(mlflow_server.uri, name, SIZES[0], reference)
    # MLflow asks a server it has not talked to yet for its capabilities (/api/3.0/mlflow/
    # server-info) once per process; a first dry run through the proxy pays that, uncounted.
    first_contact = _count_dry_run(counting_proxy, name)
    fresh = _count_dry_run(counting_proxy, name)  # no advisor run yet
    # An advice written directly (not counted): later dry runs also read the advisor's run and
    # download its history.json.
    _advise(mlflow_server.uri, name, "w0", dry_run=False)

    counts = {}
    for size, previous in zip(SIZES, (0, *SIZES), strict=False):
        register_bare_versions(mlflow_server.uri, name, size - previous, reference)
        counts[size] = _count_dry_run(counting_proxy, name)

    print(f"\nfirst contact with the server: {len(first_contact)} requests")
    _report("no advisor run yet (1 version)", {1: fresh})
    _report("with the advisor's history", counts)
    assert len({len(requests) for requests in counts.values()}) == 1, {
        size: len(requests) for size, requests in counts.items()
    }
    # Not only as many requests: the same requests.
    assert _shape(counts[1]) == _shape(counts[10]) == _shape(counts[50])
