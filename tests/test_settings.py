"""helpers.settings: the target, endpoints and keys the notebooks use, and the .env file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from helpers.settings import (
    Settings,
    SettingsError,
    load_settings,
    read_env_file,
    save_settings,
)

ALL_NAMES = ("BATCH_TARGET", "BATCH_AUTH", "BATCH_ACCOUNT_NAME", "BATCH_ACCOUNT_URL",
             "BATCH_ACCOUNT_KEY", "STORAGE_ACCOUNT_NAME", "STORAGE_ACCOUNT_KEY",
             "STORAGE_BLOB_URL", "BATCH_LEARNER_ID")
AZURE = {
    "BATCH_ACCOUNT_NAME": "mybatch",
    "BATCH_ACCOUNT_URL": "https://mybatch.westeurope.batch.azure.com",
    "BATCH_ACCOUNT_KEY": "YmF0Y2gta2V5LWZyb20tdGhlLWVudmlyb25tZW50",
    "STORAGE_ACCOUNT_NAME": "mystore",
    "STORAGE_ACCOUNT_KEY": "c3RvcmFnZS1rZXktZnJvbS10aGUtZW52aXJvbm1lbnQ=",
}


@pytest.fixture
def env_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty settings file of the test's own, and none of the settings in the environment."""
    path = tmp_path / "settings.env"
    monkeypatch.setenv("BATCH_NOTEBOOKS_ENV_FILE", str(path))
    for name in ALL_NAMES:
        monkeypatch.delenv(name, raising=False)
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_env(path: Path, values: dict[str, str]) -> None:
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))


# -- Settings' repr -------------------------------------------------------------------------


def test_repr_hides_keys_and_shows_their_length() -> None:
    batch_key, storage_key = "QmF0Y2hTZWNyZXRLZXk9PQ==", "U3RvcmFnZVNlY3JldA=="
    settings = Settings("azure", "acct", "https://acct.batch.azure.com", "store",
                        "https://store.blob.core.windows.net", "key", batch_key, storage_key)
    for text in (repr(settings), str(settings), f"{settings!r}", repr([settings])):
        assert batch_key not in text
        assert storage_key not in text
    text = repr(settings)
    assert f"<{len(batch_key)} characters, hidden>" in text
    assert f"<{len(storage_key)} characters, hidden>" in text
    assert "acct" in text and "https://store.blob.core.windows.net" in text


def test_repr_says_when_a_key_is_not_set() -> None:
    settings = Settings("azure", "acct", "https://acct", "store", "https://store", "key", "", "")
    assert repr(settings).count("<not set>") == 2


def test_repr_of_entra_settings_shows_no_key_lines() -> None:
    settings = Settings("azure", "acct", "https://acct", "store", "https://store", "entra")
    text = repr(settings)
    assert "authentication:  Microsoft Entra ID" in text
    assert "key" not in text.lower().replace("authentication", "")


def test_repr_of_key_settings_names_shared_key() -> None:
    settings = Settings("local", "acct", "http://acct", "store", "http://store", "key", "k", "k")
    assert "authentication:  Shared Key (account keys)" in repr(settings)


# -- load_settings: local ------------------------------------------------------------------


def test_local_settings_are_localbatch_endpoints(state, endpoints: dict[str, str], env_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALBATCH_HOME", str(state.path))
    monkeypatch.setenv("BATCH_TARGET", "local")
    settings = load_settings()
    assert settings == Settings(
        "local", endpoints["BATCH_ACCOUNT_NAME"], endpoints["BATCH_ACCOUNT_URL"],
        endpoints["STORAGE_ACCOUNT_NAME"], endpoints["STORAGE_BLOB_URL"], "key",
        endpoints["BATCH_ACCOUNT_KEY"], endpoints["STORAGE_ACCOUNT_KEY"])


def test_local_is_the_default_target(state, endpoints: dict[str, str], env_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALBATCH_HOME", str(state.path))
    settings = load_settings()
    assert settings.target == "local"
    assert settings.batch_url == endpoints["BATCH_ACCOUNT_URL"]


def test_local_ignores_azure_values(state, endpoints: dict[str, str], env_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALBATCH_HOME", str(state.path))
    monkeypatch.setenv("BATCH_TARGET", "local")
    for name, value in AZURE.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.batch_key == endpoints["BATCH_ACCOUNT_KEY"]
    assert settings.batch_account == endpoints["BATCH_ACCOUNT_NAME"]


# -- load_settings: azure ------------------------------------------------------------------


def test_azure_from_environment(env_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TARGET", "azure")
    for name, value in AZURE.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings == Settings(
        "azure", "mybatch", "https://mybatch.westeurope.batch.azure.com", "mystore",
        "https://mystore.blob.core.windows.net", "key", AZURE["BATCH_ACCOUNT_KEY"],
        AZURE["STORAGE_ACCOUNT_KEY"])


def test_target_is_case_insensitive(env_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TARGET", " Azure ")
    for name, value in AZURE.items():
        monkeypatch.setenv(name, value)
    assert load_settings().target == "azure"


def test_environment_wins_over_env_file(env_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_env(env_path, {"BATCH_TARGET": "azure", **AZURE, "BATCH_ACCOUNT_NAME": "fromfile",
                         "BATCH_ACCOUNT_KEY": "ZnJvbWZpbGU="})
    monkeypatch.setenv("BATCH_ACCOUNT_NAME", "fromenv")
    monkeypatch.setenv("BATCH_ACCOUNT_KEY", "ZnJvbWVudg==")
    settings = load_settings()
    assert settings.batch_account == "fromenv"
    assert settings.batch_key == "ZnJvbWVudg=="


def test_target_from_environment_wins_over_env_file(state, endpoints: dict[str, str],
                                                    env_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALBATCH_HOME", str(state.path))
    write_env(env_path, {"BATCH_TARGET": "azure", **AZURE})
    monkeypatch.setenv("BATCH_TARGET", "local")
    assert load_settings().batch_url == endpoints["BATCH_ACCOUNT_URL"]


def test_env_file_fills_what_the_environment_lacks(env_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    write_env(env_path, {"BATCH_TARGET": "azure", **AZURE})
    monkeypatch.setenv("STORAGE_ACCOUNT_NAME", "envstore")
    settings = load_settings()
    assert settings.target == "azure"
    assert settings.batch_account == "mybatch"
    assert settings.batch_key == AZURE["BATCH_ACCOUNT_KEY"]
    assert settings.storage_key == AZURE["STORAGE_ACCOUNT_KEY"]
    assert settings.storage_account == "envstore"
    assert settings.blob_url == "https://envstore.blob.core.windows.net"


def test_missing_names_are_each_named(env_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TARGET", "azure")
    monkeypatch.setenv("BATCH_ACCOUNT_NAME", "mybatch")
    monkeypatch.setenv("STORAGE_ACCOUNT_KEY", AZURE["STORAGE_ACCOUNT_KEY"])
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    for name in ("BATCH_ACCOUNT_URL", "STORAGE_ACCOUNT_NAME", "BATCH_ACCOUNT_KEY"):
        assert name in message
    for name in ("BATCH_ACCOUNT_NAME", "STORAGE_ACCOUNT_KEY"):  # these are set
        assert name not in message
    assert AZURE["STORAGE_ACCOUNT_KEY"] not in message


def test_every_missing_name_when_nothing_is_set(env_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TARGET", "azure")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    for name in AZURE:
        assert name in str(caught.value)


def test_an_empty_value_counts_as_missing(env_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TARGET", "azure")
    for name, value in AZURE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BATCH_ACCOUNT_URL", "")
    with pytest.raises(SettingsError, match="BATCH_ACCOUNT_URL"):
        load_settings()


def test_nonsense_target_names_the_variable(env_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TARGET", "nonsense")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "BATCH_TARGET" in str(caught.value)
    assert "nonsense" in str(caught.value)


def test_nonsense_target_in_env_file_names_the_variable(env_path: Path) -> None:
    write_env(env_path, {"BATCH_TARGET": "nonsense"})
    with pytest.raises(SettingsError, match="BATCH_TARGET"):
        load_settings()


def test_nonsense_auth_names_the_variable(env_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TARGET", "azure")
    monkeypatch.setenv("BATCH_AUTH", "nonsense")
    for name, value in AZURE.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "BATCH_AUTH" in str(caught.value)
    assert "nonsense" in str(caught.value)


def test_entra_needs_no_keys(env_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TARGET", "azure")
    monkeypatch.setenv("BATCH_AUTH", "entra")
    for name in ("BATCH_ACCOUNT_NAME", "BATCH_ACCOUNT_URL", "STORAGE_ACCOUNT_NAME"):
        monkeypatch.setenv(name, AZURE[name])
    settings = load_settings()
    assert settings.auth == "entra"
    assert settings.batch_key == "" and settings.storage_key == ""
    assert settings.batch_account == "mybatch"


def test_entra_still_needs_the_names(env_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TARGET", "azure")
    monkeypatch.setenv("BATCH_AUTH", "entra")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    for name in ("BATCH_ACCOUNT_NAME", "BATCH_ACCOUNT_URL", "STORAGE_ACCOUNT_NAME"):
        assert name in message
    assert "BATCH_ACCOUNT_KEY" not in message and "STORAGE_ACCOUNT_KEY" not in message


def test_blob_url_defaults_to_the_public_cloud(env_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TARGET", "azure")
    for name, value in AZURE.items():
        monkeypatch.setenv(name, value)
    assert load_settings().blob_url == "https://mystore.blob.core.windows.net"
    monkeypatch.setenv("STORAGE_BLOB_URL", "https://mystore.blob.core.chinacloudapi.cn")
    assert load_settings().blob_url == "https://mystore.blob.core.chinacloudapi.cn"


def test_batch_url_loses_its_trailing_slash(env_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TARGET", "azure")
    for name, value in AZURE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BATCH_ACCOUNT_URL", AZURE["BATCH_ACCOUNT_URL"] + "/")
    assert load_settings().batch_url == AZURE["BATCH_ACCOUNT_URL"]


# -- save_settings and read_env_file -------------------------------------------------------


def test_save_merges_with_what_is_there(env_path: Path) -> None:
    save_settings({"BATCH_TARGET": "azure", "BATCH_ACCOUNT_NAME": "first"})
    save_settings({"BATCH_ACCOUNT_NAME": "second", "STORAGE_ACCOUNT_NAME": "store"})
    assert read_env_file() == {"BATCH_TARGET": "azure", "BATCH_ACCOUNT_NAME": "second",
                               "STORAGE_ACCOUNT_NAME": "store"}


def test_save_ignores_none(env_path: Path) -> None:
    save_settings({"BATCH_ACCOUNT_KEY": "a2V5"})
    save_settings({"BATCH_ACCOUNT_KEY": None, "BATCH_TARGET": "azure"})
    assert read_env_file() == {"BATCH_ACCOUNT_KEY": "a2V5", "BATCH_TARGET": "azure"}


def test_save_an_empty_value_removes_it(env_path: Path) -> None:
    save_settings({"STORAGE_BLOB_URL": "http://127.0.0.1:1/x", "BATCH_TARGET": "azure"})
    save_settings({"STORAGE_BLOB_URL": ""})
    assert read_env_file() == {"BATCH_TARGET": "azure"}


def test_save_writes_to_the_env_file_variable(env_path: Path) -> None:
    assert save_settings({"BATCH_TARGET": "local"}) == env_path
    assert env_path.exists()


def test_save_to_an_explicit_path(env_path: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.env"
    assert save_settings({"BATCH_TARGET": "azure"}, other) == other
    assert read_env_file(other) == {"BATCH_TARGET": "azure"}
    assert not env_path.exists()


def test_saved_file_is_owner_only(env_path: Path) -> None:
    save_settings({"BATCH_ACCOUNT_KEY": "c2VjcmV0"})
    assert mode(env_path) == 0o600


def test_saved_file_becomes_owner_only_when_it_was_readable(env_path: Path) -> None:
    env_path.write_text("BATCH_TARGET=azure\n")
    env_path.chmod(0o644)
    assert mode(env_path) == 0o644
    save_settings({"BATCH_ACCOUNT_KEY": "c2VjcmV0"})
    assert mode(env_path) == 0o600
    assert read_env_file() == {"BATCH_TARGET": "azure", "BATCH_ACCOUNT_KEY": "c2VjcmV0"}


@pytest.mark.parametrize("value", [
    "two words",
    "it's",
    'say "hi"',
    "$(touch /tmp/pwned)",
    "`id`",
    "$HOME and ${PATH}",
    "a=b=c",
    "trailing space ",
    " leading",
    "# not a comment",
    "semi;colon & amp | pipe",
    "back\\slash",
    "ab+/cd==",
])
def test_values_read_back_exactly(env_path: Path, value: str) -> None:
    save_settings({"BATCH_ACCOUNT_KEY": value, "BATCH_TARGET": "azure"})
    assert read_env_file() == {"BATCH_ACCOUNT_KEY": value, "BATCH_TARGET": "azure"}


def test_special_values_are_quoted_in_the_file(env_path: Path) -> None:
    save_settings({"A": "two words", "B": "$(id)", "C": "it's"})
    lines = [line for line in env_path.read_text().splitlines() if not line.startswith("#")]
    assert "A=two words" not in lines
    assert "B=$(id)" not in lines
    assert all(line.split("=", 1)[1][0] in "'\"" for line in lines)


def test_read_env_file_skips_comments_and_blank_lines(env_path: Path) -> None:
    env_path.write_text("# a comment\n\n  # indented comment=x\nBATCH_TARGET=azure\n"
                        " BATCH_AUTH = entra\nEMPTY=\n")
    assert read_env_file() == {"BATCH_TARGET": "azure", "BATCH_AUTH": "entra", "EMPTY": ""}


def test_read_env_file_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    assert read_env_file(tmp_path / "absent.env") == {}


def test_env_file_variable_never_points_at_the_project_file(env_path: Path) -> None:
    # The tests must not write the learner's .env: the fixture moved it into tmp_path.
    from helpers.settings import ROOT, env_file
    assert env_file() == env_path
    assert env_file() != ROOT / ".env"
    assert os.environ["BATCH_NOTEBOOKS_ENV_FILE"] == str(env_path)


def test_a_hand_edited_line_with_an_open_quote_is_named_not_shown(env_path: Path) -> None:
    env_path.write_text("BATCH_TARGET=azure\nBATCH_ACCOUNT_KEY='c2VjcmV0LWtleQ==\n")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"Line 2 of {env_path} (BATCH_ACCOUNT_KEY) cannot be read: "
                              "No closing quotation.")
    assert "01_authenticate" in message
    assert "c2VjcmV0" not in message


@pytest.mark.parametrize("learner", ["ana", "team-2", "a", "x" * 20, "3d"])
def test_a_learner_id_goes_first_in_every_name(env_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               learner: str) -> None:
    for name, value in {**AZURE, "BATCH_TARGET": "azure", "BATCH_LEARNER_ID": learner}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.name("input") == f"{learner}-input"
    assert settings.name("LinuxFFmpegPool") == f"{learner}-LinuxFFmpegPool"
    assert f"learner id:      {learner}" in repr(settings)


def test_no_learner_id_keeps_the_names_as_they_are(env_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**AZURE, "BATCH_TARGET": "azure"}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert (settings.name("input"), settings.name("LinuxFFmpegJob")) == ("input", "LinuxFFmpegJob")
    assert "learner id" not in repr(settings)


@pytest.mark.parametrize("learner", ["Ana", "ana_b", "-ana", "ana-", "a--b", "x" * 21, "ana b"])
def test_a_learner_id_that_would_make_bad_names_is_named(env_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         learner: str) -> None:
    for name, value in {**AZURE, "BATCH_TARGET": "azure", "BATCH_LEARNER_ID": learner}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == (
        f"BATCH_LEARNER_ID is '{learner.strip()}': use up to 20 lowercase letters and digits, "
        "with single hyphens between them (for example ana or team-2).")
