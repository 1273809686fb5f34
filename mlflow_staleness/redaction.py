"""One redaction step for everything the advisor prints, logs or writes.

Messages from MLflow and the network carry the tracking URI as the user gave it, and a URI may
hold a user name and password (``http://user:password@host``); a token may sit in a query string,
an ``Authorization`` header may be quoted in an error. Every error the package raises
(:class:`~mlflow_staleness.exceptions.StalenessError`), every line the CLI prints (its streams,
MLflow's log lines and Python's warnings included), every tag and artifact an advice writes
(:class:`~mlflow_staleness.adapter.writing.Write`) and every file the CLI writes goes through
:func:`redact`, which removes:

- the user-info of any URL (``http://user:pw@host`` becomes ``http://***@host``);
- the value of every secret environment variable (``MLFLOW_TRACKING_TOKEN``,
  ``MLFLOW_TRACKING_PASSWORD``, ``AWS_SECRET_ACCESS_KEY`` ... and any variable whose name ends
  in ``_TOKEN``, ``_PASSWORD``, ``_SECRET``, ``_SECRET_KEY``, ``_ACCESS_KEY`` or ``_API_KEY``;
  values shorter than 4 characters are not searched for, they would mask ordinary words), and
  the password of the user-info of ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI``,
  anywhere in the text, as given and percent-decoded;
- the credentials of ``Authorization`` headers (``Basic``, ``Bearer``, ``Token`` ...) and any
  ``Bearer`` token;
- the value of query-string parameters that carry secrets (``token``, ``access_token``,
  ``password``, ``sig``, ``X-Amz-Signature`` ...).

It imports nothing of MLflow; it reads the environment at each call, so a secret set later is
covered too.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterable

__all__ = ["MASK", "redact", "register_secret", "secrets_in_environment"]

MASK = "***"
#: Environment variables whose values are secrets, whatever their length.
SECRET_VARIABLES = (
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_WEBHOOK_SECRET",
    "MLFLOW_AUTH_CONFIG_PATH_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_CLIENT_SECRET",
    "DATABRICKS_TOKEN",
    "DATABRICKS_CLIENT_SECRET",
    "GOOGLE_APPLICATION_CREDENTIALS_JSON",
)
#: Other variables are secret by their names' ending.
_SECRET_NAME = re.compile(r"(?:_|^)(?:TOKEN|PASSWORD|PASSWD|SECRET|SECRET_KEY|ACCESS_KEY|API_KEY)$")
#: Variables whose values are URIs that may carry a password.
URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
#: A value shorter than this is not searched for in text ("1", "on", "pw" would mask words).
MIN_SECRET = 4
#: Values that are words of every document, never secrets: masking them would break JSON tags
#: (``USE_TOKEN=true`` must not turn every ``true`` into ``***``). A number may be a password,
#: so it is masked (JSON artifacts are redacted string by string, their numbers are left).
_PLAIN_VALUES = re.compile(r"(?i)(?:true|false|null|none|yes|no|on|off|enabled?|disabled?)")

# scheme://user-info@ : the user-info never holds '/', whitespace, quotes or brackets; '@' and
# ':' may appear in it (the last '@' ends it, as urllib reads it). Found by a linear scan from
# each '://' (a regex that starts at every letter of a long word is quadratic in its length).
_USERINFO_END = re.compile(r"[/\s?#\"'<>()\[\]{}]")
_AUTH_HEADER = re.compile(
    r"(?P<head>authorization[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:basic|bearer|token|digest|negotiate|apikey)\s+)?)"
    r"(?P<secret>[^\s\"',;}\]]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<head>\bbearer\s+)(?P<secret>[A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
_QUERY_KEYS = (
    "token|access_token|refresh_token|id_token|auth_token|api_key|apikey|api-key|key|"
    "password|passwd|pwd|secret|client_secret|sig|signature|x-amz-signature|"
    "x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|code"
)
_QUERY = re.compile(
    rf"(?P<head>[?&;](?:{_QUERY_KEYS})=)(?P<secret>[^&#\s\"'<>]+)",
    re.IGNORECASE,
)
_REGISTERED: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask ``value`` in everything from now on (a password given with ``--tracking-uri``).

    >>> register_secret("hunter22")
    >>> redact("login with hunter22")
    'login with ***'
    """
    if value and _searchable(value):
        _REGISTERED.add(value)
        _REGISTERED.add(urllib.parse.unquote(value))


def secrets_in_environment(environ: os._Environ | dict[str, str] | None = None) -> set[str]:
    """The secret values of the environment: see the module's docstring."""
    environ = os.environ if environ is None else environ
    found = set()
    for name, value in environ.items():
        if not value:
            continue
        upper = name.upper()
        if upper in SECRET_VARIABLES or _SECRET_NAME.search(upper):
            found.add(value)
        if upper in URI_VARIABLES:
            password = _password_of(value)
            if password:
                found.add(password)
    found |= {urllib.parse.unquote(value) for value in found}
    return {value for value in found if _searchable(value)}


def _searchable(value: str) -> bool:
    """Whether a secret's value is searched for in text: long enough, and not a plain word.

    >>> _searchable("s3cr3t"), _searchable("123456"), _searchable("true"), _searchable("pw")
    (True, True, False, False)
    """
    return len(value) >= MIN_SECRET and not _PLAIN_VALUES.fullmatch(value.strip())


def _password_of(uri: str) -> str | None:
    try:
        parts = urllib.parse.urlsplit(uri)
        return parts.password
    except ValueError:
        return None


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` without credentials: see the module's docstring. Text without any is unchanged.

    >>> redact("request to http://alice:s3cr3t@127.0.0.1:5000/api failed")
    'request to http://***@127.0.0.1:5000/api failed'
    >>> redact("headers {'Authorization': 'Bearer abc.def'}")
    "headers {'Authorization': 'Bearer ***'}"
    >>> redact("https://store/blob?sv=1&sig=AbC%2B&x=1")
    'https://store/blob?sv=1&sig=***&x=1'
    >>> redact("window 2026-01-05: keep (error rate 0.12)")
    'window 2026-01-05: keep (error rate 0.12)'
    """
    if not isinstance(text, str) or not text:
        return text
    known = secrets_in_environment() | _REGISTERED | set(secrets or ())
    # longest first, so that a secret holding another is masked whole
    for secret in sorted((s for s in known if _searchable(s)), key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _mask_userinfo(text)
    text = _AUTH_HEADER.sub(_mask, text)
    text = _BEARER.sub(_mask, text)
    return _QUERY.sub(_mask, text)


def _mask_userinfo(text: str) -> str:
    """Every URL's user-info masked, in one pass over ``text``.

    >>> _mask_userinfo("a 0http://u:p@w@h/x and s3://bucket/k and mailto://x")
    'a 0http://***@h/x and s3://bucket/k and mailto://x'
    """
    parts, start = [], 0
    at = text.find("://")
    while at != -1:
        begin = at + 3
        end = _USERINFO_END.search(text, begin)
        stop = len(text) if end is None else end.start()
        last = text.rfind("@", begin, stop)
        if last == -1:  # no user-info here, nor after any '://' before ``stop``
            at = text.find("://", max(stop - 1, begin))
            continue
        parts += [text[start:begin], MASK]
        start = last
        at = text.find("://", last + 1)
    return "".join(parts) + text[start:] if parts else text


def _mask(match: re.Match[str]) -> str:
    return match.group("head") + MASK
