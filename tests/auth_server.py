"""A real ``mlflow server --app-name basic-auth`` for the permission tests, and its users.

``AuthServer`` wraps :class:`mlflow_servers.MlflowServer`: the same SQLite backend store and
proxied artifacts, plus MLflow's basic-auth app with its own user database in the server's
folder and a configuration file (``MLFLOW_AUTH_CONFIG_PATH``) written there too:
``default_permission = READ``, so every user reads everything unless granted more. MLflow 3.17
ships no admin password and refuses to start without one, so the admin's is generated per server
(``MLFLOW_AUTH_ADMIN_PASSWORD``); so is the CSRF secret the basic-auth app insists on.

Users and grants are made through MLflow's own REST API of the basic-auth app, as the admin. The
client side of MLflow reads credentials from ``MLFLOW_TRACKING_USERNAME`` /
``MLFLOW_TRACKING_PASSWORD``; :func:`credentials` sets them for a block and puts the environment
back as it was.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from mlflow_servers import MlflowServer, Service

__all__ = ["ADMIN", "AuthServer", "User", "credentials", "new_password"]

ADMIN = "admin"
_CREDENTIAL_VARIABLES = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
)


def new_password(prefix: str = "pw") -> str:
    """A distinctive password (MLflow wants at least 12 characters) to grep outputs for."""
    return f"{prefix}-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class User:
    username: str
    password: str

    def env(self) -> dict[str, str]:
        """The environment variables MLflow's client reads the credentials from."""
        return {
            "MLFLOW_TRACKING_USERNAME": self.username,
            "MLFLOW_TRACKING_PASSWORD": self.password,
        }


@contextlib.contextmanager
def credentials(user: User | None) -> Iterator[None]:
    """Act as ``user`` (None: anonymous) inside the block; restore the environment after."""
    saved = {key: os.environ.get(key) for key in _CREDENTIAL_VARIABLES}
    for key in _CREDENTIAL_VARIABLES:
        os.environ.pop(key, None)
    if user is not None:
        os.environ.update(user.env())
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class AuthServer(Service):
    """``mlflow server --app-name basic-auth`` in ``directory`` (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike[str], *, startup_timeout: float = 300) -> None:
        self.directory = Path(directory).resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.admin = User(ADMIN, new_password("pw-admin"))
        self.config_path = self.directory / "basic_auth.ini"
        self.auth_database_uri = f"sqlite:///{self.directory / 'basic_auth.db'}"
        self.config_path.write_text(
            "[mlflow]\n"
            "default_permission = READ\n"
            f"database_uri = {self.auth_database_uri}\n"
            f"admin_username = {ADMIN}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            # Each request otherwise pays a PBKDF2 hash (about half a second on a busy machine);
            # only successful checks are cached, so a wrong password is still refused.
            "auth_cache_ttl_seconds = 600\n",
            encoding="utf-8",
        )
        env = {
            "MLFLOW_AUTH_CONFIG_PATH": str(self.config_path),
            "MLFLOW_AUTH_ADMIN_PASSWORD": self.admin.password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": uuid.uuid4().hex,
        }
        self.server = MlflowServer(
            self.directory,
            extra_args=["--app-name", "basic-auth"],
            extra_env=env,
            # the basic-auth app loads more than the plain server; a shared, busy machine can
            # take minutes to start it
            startup_timeout=startup_timeout,
        )
        self.uri = self.server.uri
        self.port = self.server.port

    def start(self) -> AuthServer:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def log_tail(self, lines: int = 60) -> str:
        return self.server.log_tail(lines)

    # ---------------------------------------------------------------- users and grants
    # MLflow's own REST API of the basic-auth app, as the admin. (``AuthServiceClient`` would do
    # the same, but importing it imports the whole server app, which warns at import time.)
    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        with requests.Session() as session:
            session.trust_env = False  # no HTTP(S)_PROXY for loopback
            response = session.request(
                method,
                self.uri + path,
                auth=(self.admin.username, self.admin.password),
                timeout=120,
                **kwargs,
            )
        if response.status_code != 200:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code}: {response.text}")
        return response.json() if response.content else {}

    def create_user(self, username: str, password: str | None = None) -> User:
        """A new (non-admin) user, made by the admin through MLflow's API."""
        user = User(username, password or new_password())
        self._request(
            "POST",
            "/api/2.0/mlflow/users/create",
            json={"username": user.username, "password": user.password},
        )
        return user

    def grant(self, user: User, resource_type: str, resource_id: str, permission: str) -> None:
        """Grant ``permission`` (READ, EDIT, MANAGE, ...) on one resource:
        ``("registered_model", name)`` or ``("experiment", experiment_id)``."""
        self._request(
            "POST",
            "/api/3.0/mlflow/users/permissions/grant",
            json={
                "username": user.username,
                "resource_type": resource_type,
                "resource_id": resource_id,
                "permission": permission,
            },
        )

    def permission(self, user: User, resource_type: str, resource_id: str) -> str:
        """The user's effective permission on the resource, as the server resolves it."""
        answer = self._request(
            "GET",
            "/api/3.0/mlflow/users/permissions/get",
            params={
                "username": user.username,
                "resource_type": resource_type,
                "resource_id": resource_id,
            },
        )
        return answer["permission"]
