"""Checking, before the first write, that this user may write the whole advice.

MLflow's ``basic-auth`` app grants permissions per registered model and per experiment, and a new
user gets READ by default. An advice writes on both (version tags and aliases on the model; the
advisor experiment's run), and MLflow has no transactions, so a user who may write one but not the
other would leave half an advice. The advisor therefore asks the server for the user's effective
permission on both (``GET /api/3.0/mlflow/users/permissions/get``, which a user may ask about
themself) and writes nothing, not even the experiment, unless both allow it.

The user is ``MLFLOW_TRACKING_USERNAME``, or the user name inside an ``http://user:password@host``
URI. Servers without the auth app (the endpoint does not exist), local stores, and token logins (no
user name to ask about) are not checked here; MLflow's own answer to each write still applies.
"""

from __future__ import annotations

import urllib.parse

from mlflow import MlflowClient
from mlflow.utils.credentials import get_default_host_creds
from mlflow.utils.rest_utils import http_request

from mlflow_staleness.adapter.connection import public_uri
from mlflow_staleness.exceptions import NoPermissionError, ServerError

__all__ = ["check_write_permission"]

ENDPOINT = "/api/3.0/mlflow/users/permissions/get"
WRITERS = frozenset({"EDIT", "MANAGE"})


def check_write_permission(
    client: MlflowClient, model_name: str, experiment_id: str | None, experiment_name: str
) -> None:
    """Raise :class:`NoPermissionError` unless this user may write on the model and experiment.

    ``experiment_id`` is None when the advisor experiment does not exist yet: its creator gets
    MANAGE on it, so only the model is checked then.
    """
    if not client.tracking_uri.startswith(("http://", "https://")):
        return
    creds = get_default_host_creds(client.tracking_uri)
    uri = public_uri(client.tracking_uri)
    # ``http://user:password@host``: requests sends the URI's credentials, so ask about its user
    username = creds.username or urllib.parse.unquote(
        urllib.parse.urlsplit(client.tracking_uri).username or ""
    )
    if not username:
        return
    checks = [("registered_model", model_name, f"model {model_name!r}")]
    if experiment_id is not None:
        checks.append(("experiment", experiment_id, f"the advisor experiment {experiment_name!r}"))
    for resource_type, resource_id, label in checks:
        params = {"username": username, "resource_type": resource_type}
        params["resource_id"] = resource_id
        try:
            response = http_request(
                creds, ENDPOINT, "GET", params=params, raise_on_status=False, max_retries=0
            )
        except Exception as exc:
            # the message goes through the package's redaction (it may quote the URI's password)
            said = (str(exc).splitlines() or [""])[0][:300]
            raise ServerError(
                f"could not check the write permission of user {username!r} on {label} at "
                f"{uri}: {type(exc).__name__}{': ' + said if said else ''}. Nothing was written; "
                f"run the same command again"
            ) from None
        if response.status_code == 404:
            return  # no auth app on this server: nothing to check
        if response.status_code == 401:
            raise ServerError(
                f"the tracking server {uri} refused the credentials of user "
                f"{username!r} (HTTP 401): check MLFLOW_TRACKING_USERNAME and "
                f"MLFLOW_TRACKING_PASSWORD"
            )
        if response.status_code >= 500:
            # the server failed on the question: that says nothing about the permission
            raise ServerError(
                f"could not check the write permission of user {username!r} on {label}: the "
                f"tracking server {uri} answered HTTP {response.status_code}. Nothing was "
                f"written; run the same command again (the server's log says why it failed)"
            )
        permission = _permission(response) if response.status_code == 200 else None
        if permission not in WRITERS:
            raise NoPermissionError(
                f"no permission to write advice for model {model_name!r}: user "
                f"{username!r} has {permission or 'no readable'} permission on {label} at "
                f"{uri}, and writing the advice needs EDIT on the registered model and on the "
                f"advisor experiment. Ask an MLflow admin for EDIT, or use --dry-run to see the "
                f"advice without writing it"
            )


def _permission(response) -> str | None:
    try:
        return str(response.json().get("permission") or "") or None
    except ValueError:
        return None
