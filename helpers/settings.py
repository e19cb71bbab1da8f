"""Where the notebooks find their target, endpoints and keys, without a key in any notebook.

The target (``local`` or ``azure``) and the Azure values come from environment variables
first, then from a git-ignored ``.env`` file that the credentials form writes (owner-only).
For ``local`` the endpoints and keys are read from localbatch each time: they change with its
state folder, so they are never saved.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .language import tr

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("local", "azure")
AZURE_NAMES = ("BATCH_ACCOUNT_NAME", "BATCH_ACCOUNT_URL", "STORAGE_ACCOUNT_NAME")
KEY_NAMES = ("BATCH_ACCOUNT_KEY", "STORAGE_ACCOUNT_KEY")


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def env_file() -> Path:
    return Path(os.environ.get("BATCH_NOTEBOOKS_ENV_FILE", ROOT / ".env"))


def workdir() -> Path:
    """The folder for inputs, outputs and timing data (BATCH_NOTEBOOKS_WORKDIR to move it),
    made if missing: a notebook opened out of order (06 before 02) still has somewhere to write."""
    folder = Path(os.environ.get("BATCH_NOTEBOOKS_WORKDIR", ROOT / "outputs"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _mask(secret: str) -> str:
    return tr("<{count} characters, hidden>").format(count=len(secret)) if secret \
        else tr("<not set>")


@dataclass(frozen=True)
class Pace:
    """How long the notebooks wait, and how often they ask: not Batch code, but the one thing
    that differs by target (an Azure pool takes minutes, a local one a second)."""

    poll: float          # seconds between checks, and a poller's polling_interval
    pool_timeout: float  # seconds to wait for a pool's nodes
    task_timeout: float  # seconds to wait for a job's tasks
    backoff_cap: float   # the longest pause between checks while tasks run


PACE = {"azure": Pace(poll=5, pool_timeout=30 * 60, task_timeout=60 * 60, backoff_cap=15),
        "local": Pace(poll=0.2, pool_timeout=120, task_timeout=10 * 60, backoff_cap=0.25)}


@dataclass(frozen=True)
class Settings:
    """Endpoints and credentials for one target; printing it never shows a key."""

    target: str
    batch_account: str
    batch_url: str
    storage_account: str
    blob_url: str
    auth: str = "key"  # "key" (Shared Key) or "entra" (Microsoft Entra ID)
    batch_key: str = field(default="", repr=False)
    storage_key: str = field(default="", repr=False)
    learner: str = ""  # BATCH_LEARNER_ID: a class on one account keeps its names apart

    def name(self, base: str) -> str:
        """A pool, job or container name of this learner's own: "ana-input" for learner "ana",
        the name as it is with no learner id."""
        return f"{self.learner}-{base}" if self.learner else base

    @property
    def pace(self) -> Pace:
        return PACE[self.target]

    def __repr__(self) -> str:
        """Label and value per line, in the notebook's language, the values aligned."""
        sign_in = "Microsoft Entra ID" if self.auth == "entra" else tr("Shared Key (account keys)")
        rows = [(tr("target:"), self.target), (tr("authentication:"), sign_in),
                (tr("Batch account:"), tr("{account} at {url}").format(
                    account=self.batch_account, url=self.batch_url)),
                (tr("Storage account:"), tr("{account} at {url}").format(
                    account=self.storage_account, url=self.blob_url))]
        if self.auth == "key":
            rows += [(tr("Batch key:"), _mask(self.batch_key)),
                     (tr("Storage key:"), _mask(self.storage_key))]
        if self.learner:
            rows.append((tr("learner id:"), self.learner))
        width = max(len(label) for label, _ in rows) + 1
        return "\n".join(f"{label:<{width}}{value}" for label, value in rows)


def read_env_file(path: Path | None = None) -> dict[str, str]:
    """NAME=value lines, values quoted as a shell would; a line that cannot be read is named
    (by number: it may hold a key)."""
    path = path or env_file()
    values: dict[str, str] = {}
    if path.exists():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            name, sep, raw = line.partition("=")
            if sep and not line.lstrip().startswith("#"):
                try:
                    parsed = shlex.split(raw)
                except ValueError as exc:
                    raise SettingsError(tr(
                        "Line {number} of {path} ({name}) cannot be read: {error}. Fix its "
                        "quotes, or delete the line and fill in the form in 01_authenticate "
                        "again.").format(number=number, path=path, name=name.strip(),
                                         error=exc)) from None
                values[name.strip()] = parsed[0] if parsed else ""
    return values


def save_settings(values: dict[str, str], path: Path | None = None) -> Path:
    """Merge values into the .env file, readable by its owner only: None keeps a saved value,
    "" removes it (an emptied form field)."""
    path = path or env_file()
    merged = {**read_env_file(path), **{k: v for k, v in values.items() if v is not None}}
    merged = {k: v for k, v in merged.items() if v or k not in values}
    text = "".join(f"{name}={shlex.quote(value)}\n" for name, value in merged.items())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("# Written by the Batch Notebooks credentials form. Keep it private.\n" + text)
    return path


LOCAL_SIGN_IN = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")   # localbatch's token endpoint
OTHER_SIGN_INS = ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME",
                  "AZURE_FEDERATED_TOKEN_FILE")  # what DefaultAzureCredential tries first


def local_settings(values: dict[str, str] | None = None) -> Settings:
    """localbatch's endpoints and keys (it is started if it is not running). This kernel then
    trusts localbatch's CA and finds its token endpoint, as a shell does after
    `eval "$(python -m localbatch env)"`."""
    from localbatch.control import LocalBatchError, state_dir, trust_variables, up
    values = values if values is not None else {**read_env_file(), **os.environ}
    auth, learner = _auth(values), _learner(values)
    state = state_dir()
    try:
        endpoints = up(state)
        os.environ.update(trust_variables(state, dict(os.environ)))
    except LocalBatchError as exc:
        raise SettingsError(str(exc)) from None
    os.environ.update({name: endpoints[name] for name in LOCAL_SIGN_IN if name in endpoints})
    if auth == "entra":
        _check_local_entra(endpoints)
    return Settings("local", endpoints["BATCH_ACCOUNT_NAME"], endpoints["BATCH_ACCOUNT_URL"],
                    endpoints["STORAGE_ACCOUNT_NAME"], endpoints["STORAGE_BLOB_URL"], auth,
                    endpoints["BATCH_ACCOUNT_KEY"], endpoints["STORAGE_ACCOUNT_KEY"], learner)


def autoscale_speed(settings: Settings) -> float:
    """How many times faster than Azure's the target's autoscale clock runs: 1 on Azure; locally
    localbatch's LOCALBATCH_TIME_SCALE (`make lab` and `make tutorial` set 10)."""
    if settings.target != "local":
        return 1.0
    from localbatch.control import state_dir
    return state_dir().time_scale()


def _check_local_entra(endpoints: dict[str, str]) -> None:
    """Refuse what would send a real Microsoft Entra token to localbatch, or none at all."""
    if "IDENTITY_ENDPOINT" not in endpoints:
        raise SettingsError(tr("localbatch serves http (it was started with `up --http`), and "
                               "Microsoft Entra ID needs https: run `python -m localbatch up`, "
                               "or choose Shared key."))
    found = [name for name in OTHER_SIGN_INS if os.environ.get(name)]
    if found and os.environ.get("AZURE_CLIENT_ID"):
        raise SettingsError(tr(
            "{names} is set, so DefaultAzureCredential would sign in to Microsoft Entra ID with "
            "it and send a real token to localbatch: unset {names} (and AZURE_CLIENT_ID, "
            "AZURE_TENANT_ID) for the local target, or choose Shared key.").format(
            names=", ".join(found)))


def _forget_local_sign_in() -> None:
    """On the Azure target, DefaultAzureCredential must not find localbatch's token endpoint
    (it comes before `az login`), so a switch in 01 cannot send a local token to Azure."""
    from localbatch.tokens import IDENTITY_PATH
    if os.environ.get("IDENTITY_ENDPOINT", "").endswith(IDENTITY_PATH):
        for name in LOCAL_SIGN_IN:
            os.environ.pop(name, None)


LEARNER_ID = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,19}")


def _learner(values) -> str:
    """BATCH_LEARNER_ID, checked so that "ID-input" is a valid container name (Storage: lowercase
    letters, digits and single hyphens) and "ID-LinuxFFmpegPoolDedicated" a valid pool id."""
    learner = values.get("BATCH_LEARNER_ID", "").strip()
    if learner and not LEARNER_ID.fullmatch(learner):
        raise SettingsError(tr(
            "BATCH_LEARNER_ID is '{value}': use up to 20 lowercase letters and digits, with single "
            "hyphens between them (for example ana or team-2).").format(value=learner))
    return learner


def _auth(values) -> str:
    auth = values.get("BATCH_AUTH", "key").strip().lower()
    if auth not in ("key", "entra"):
        raise SettingsError(tr("BATCH_AUTH is '{value}': set it to 'key' or 'entra'.")
                            .format(value=auth))
    return auth


def load_settings() -> Settings:
    """The settings of the chosen target (environment variables win over the .env file)."""
    values = {**read_env_file(), **os.environ}
    target = values.get("BATCH_TARGET", "local").strip().lower()
    if target not in TARGETS:
        raise SettingsError(tr("BATCH_TARGET is '{value}': set it to 'local' or 'azure'.")
                            .format(value=target))
    if target == "local":
        return local_settings(values)
    _forget_local_sign_in()
    return azure_settings(values)


def azure_settings(values: dict[str, str]) -> Settings:
    """The Azure accounts named in `values` (the .env names); says which names are missing."""
    auth, learner = _auth(values), _learner(values)
    needed = AZURE_NAMES + (KEY_NAMES if auth == "key" else ())
    missing = [name for name in needed if not values.get(name)]
    if missing:
        raise SettingsError(tr("The Azure target needs {names}: fill in the form in "
                               "01_authenticate, or set them as environment variables.")
                            .format(names=", ".join(missing)))
    storage = values["STORAGE_ACCOUNT_NAME"]
    return Settings(
        "azure", values["BATCH_ACCOUNT_NAME"], values["BATCH_ACCOUNT_URL"].rstrip("/"), storage,
        values.get("STORAGE_BLOB_URL") or f"https://{storage}.blob.core.windows.net", auth,
        values.get("BATCH_ACCOUNT_KEY", ""), values.get("STORAGE_ACCOUNT_KEY", ""), learner)
