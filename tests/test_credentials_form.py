"""helpers.credentials: the form of notebook 01, driven without a browser."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.credentials import FIELDS, CredentialsForm
from helpers.settings import read_env_file, save_settings

WRONG_KEY = base64.b64encode(b"a well-formed key that is not localbatch's" * 2).decode()
KEY_FIELDS = [name for name, _, secret in FIELDS if secret]
TEXT_FIELDS = [name for name, _, secret in FIELDS if not secret]


@pytest.fixture
def environ() -> Iterator[None]:
    """Undo what submit() writes into os.environ for the kernel (BATCH_*, STORAGE_* and
    localbatch's IDENTITY_*)."""
    def ours() -> dict[str, str]:
        return {k: v for k, v in os.environ.items()
                if k.startswith(("BATCH_", "STORAGE_", "IDENTITY_"))}
    before = ours()
    yield
    for name in ours():
        if name not in before:
            del os.environ[name]
    os.environ.update(before)


@pytest.fixture
def env_path(environ, state, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty settings file of the test's own, no settings in the environment, and
    localbatch's `local` target being the tests' own instance."""
    path = tmp_path / "settings.env"
    path.write_text("")
    monkeypatch.setenv("BATCH_NOTEBOOKS_ENV_FILE", str(path))
    monkeypatch.setenv("LOCALBATCH_HOME", str(state.path))
    for name in ("BATCH_TARGET", "BATCH_AUTH", *TEXT_FIELDS, *KEY_FIELDS, "STORAGE_BLOB_URL"):
        monkeypatch.delenv(name, raising=False)
    return path


def fill_azure(form: CredentialsForm, endpoints: dict[str, str], **overrides: str) -> None:
    form.target.value = "azure"
    form.auth.value = "key"
    for name in (*TEXT_FIELDS, *KEY_FIELDS):
        form.inputs[name].value = overrides.get(name, endpoints[name])


@pytest.fixture
def blob_url(env_path: Path, endpoints: dict[str, str]) -> str:
    """The form has no blob URL field: for Azure it defaults to the public cloud's, so point
    it at Azurite through the settings file."""
    save_settings({"STORAGE_BLOB_URL": endpoints["STORAGE_BLOB_URL"]})
    return endpoints["STORAGE_BLOB_URL"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def displayed(widget) -> bool:
    return widget.layout.display != "none"


# -- what the form shows -------------------------------------------------------------------


def test_default_target_is_local(env_path: Path) -> None:
    form = CredentialsForm()
    assert form.target.value == "local"
    assert form.auth.value == "key"
    assert not displayed(form.azure_box)


def test_target_and_fields_come_from_the_env_file(env_path: Path) -> None:
    save_settings({"BATCH_TARGET": "azure", "BATCH_AUTH": "entra",
                   "BATCH_ACCOUNT_NAME": "savedbatch", "BATCH_ACCOUNT_KEY": WRONG_KEY})
    form = CredentialsForm()
    assert form.target.value == "azure"
    assert form.auth.value == "entra"
    assert form.inputs["BATCH_ACCOUNT_NAME"].value == "savedbatch"
    assert form.inputs["BATCH_ACCOUNT_KEY"].value == ""  # a saved key is never shown
    assert form.inputs["BATCH_ACCOUNT_KEY"].placeholder == "(kept)"
    assert form.inputs["STORAGE_ACCOUNT_KEY"].placeholder == ""


def test_environment_wins_over_env_file_in_the_form(env_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    save_settings({"BATCH_TARGET": "local", "BATCH_ACCOUNT_NAME": "fromfile"})
    monkeypatch.setenv("BATCH_TARGET", "azure")
    monkeypatch.setenv("BATCH_ACCOUNT_NAME", "fromenv")
    form = CredentialsForm()
    assert form.target.value == "azure"
    assert form.inputs["BATCH_ACCOUNT_NAME"].value == "fromenv"


def test_azure_shows_the_azure_fields_and_local_hides_them(env_path: Path) -> None:
    form = CredentialsForm()
    form.target.value = "azure"
    assert displayed(form.azure_box)
    assert all(displayed(form.inputs[name]) for name in (*TEXT_FIELDS, *KEY_FIELDS))
    form.target.value = "local"
    assert not displayed(form.azure_box)


def test_entra_hides_the_key_fields(env_path: Path) -> None:
    form = CredentialsForm()
    form.target.value = "azure"
    form.auth.value = "entra"
    assert not any(displayed(form.inputs[name]) for name in KEY_FIELDS)
    assert all(displayed(form.inputs[name]) for name in TEXT_FIELDS)
    form.auth.value = "key"
    assert all(displayed(form.inputs[name]) for name in KEY_FIELDS)


def test_key_fields_are_password_fields(env_path: Path) -> None:
    import ipywidgets
    form = CredentialsForm()
    assert all(isinstance(form.inputs[name], ipywidgets.Password) for name in KEY_FIELDS)
    assert not any(isinstance(form.inputs[name], ipywidgets.Password) for name in TEXT_FIELDS)


# -- submit --------------------------------------------------------------------------------


def test_submit_local(env_path: Path, endpoints: dict[str, str]) -> None:
    form = CredentialsForm()
    settings = form.submit()
    assert "✓" in form.result.value and "Connected" in form.result.value
    assert "✗" not in form.result.value
    assert settings is not None and settings.target == "local"
    assert settings.batch_url == endpoints["BATCH_ACCOUNT_URL"]
    assert endpoints["BATCH_ACCOUNT_KEY"] not in form.result.value
    assert read_env_file(env_path) == {"BATCH_TARGET": "local", "BATCH_AUTH": "key"}
    assert os.environ["BATCH_TARGET"] == "local"


def test_submit_azure_with_the_right_keys(env_path: Path, blob_url: str,
                                          endpoints: dict[str, str]) -> None:
    form = CredentialsForm()
    fill_azure(form, endpoints)
    settings = form.submit()
    assert "✓" in form.result.value and "Connected" in form.result.value, form.result.value
    assert settings is not None and settings.target == "azure"
    assert settings.blob_url == blob_url
    assert endpoints["BATCH_ACCOUNT_NAME"] in form.result.value
    for name in KEY_FIELDS:
        assert endpoints[name] not in form.result.value
        assert form.inputs[name].value == ""
    assert os.environ["BATCH_TARGET"] == "azure"  # the kernel sees what was submitted


def test_submit_azure_with_a_wrong_batch_key(env_path: Path, blob_url: str,
                                             endpoints: dict[str, str]) -> None:
    form = CredentialsForm()
    fill_azure(form, endpoints, BATCH_ACCOUNT_KEY=WRONG_KEY)
    assert form.submit() is None
    result = form.result.value
    assert "✗" in result and "✓" not in result
    assert "The Batch account at " in result and "rejected the key" in result
    assert "Storage" not in result  # the storage key was right
    assert WRONG_KEY not in result
    assert endpoints["STORAGE_ACCOUNT_KEY"] not in result
    assert all(form.inputs[name].value == "" for name in KEY_FIELDS)


def test_submit_azure_with_a_key_that_is_not_base64(env_path: Path, blob_url: str,
                                                    endpoints: dict[str, str]) -> None:
    form = CredentialsForm()
    fill_azure(form, endpoints, STORAGE_ACCOUNT_KEY="not base64!!")
    assert form.submit() is None
    assert "The Storage key is not valid base64" in form.result.value
    assert "not base64!!" not in form.result.value


def test_submit_azure_with_missing_fields_names_them(env_path: Path) -> None:
    form = CredentialsForm()
    form.target.value = "azure"
    form.inputs["BATCH_ACCOUNT_NAME"].value = "mybatch"
    assert form.submit() is None
    result = form.result.value
    assert "✗" in result
    for name in ("BATCH_ACCOUNT_URL", "STORAGE_ACCOUNT_NAME", "BATCH_ACCOUNT_KEY",
                 "STORAGE_ACCOUNT_KEY"):
        assert name in result


def test_env_file_is_owner_only_and_has_the_target(env_path: Path, blob_url: str,
                                                   endpoints: dict[str, str]) -> None:
    env_path.chmod(0o644)
    form = CredentialsForm()
    fill_azure(form, endpoints)
    form.submit()
    assert mode(env_path) == 0o600
    saved = read_env_file(env_path)
    assert saved["BATCH_TARGET"] == "azure"
    assert saved["BATCH_AUTH"] == "key"
    assert saved["BATCH_ACCOUNT_KEY"] == endpoints["BATCH_ACCOUNT_KEY"]
    assert saved["STORAGE_BLOB_URL"] == blob_url  # merged, not replaced


def test_blank_key_field_keeps_the_saved_key(env_path: Path, blob_url: str,
                                             endpoints: dict[str, str]) -> None:
    first = CredentialsForm()
    fill_azure(first, endpoints)
    assert first.submit() is not None
    # A new kernel: only the file remembers the keys.
    for name in KEY_FIELDS:
        os.environ.pop(name, None)
    second = CredentialsForm()
    assert second.target.value == "azure"
    assert all(second.inputs[name].value == "" for name in KEY_FIELDS)
    assert all(second.inputs[name].placeholder == "(kept)" for name in KEY_FIELDS)
    settings = second.submit()
    assert "✓" in second.result.value, second.result.value
    assert settings is not None and settings.batch_key == endpoints["BATCH_ACCOUNT_KEY"]
    saved = read_env_file(env_path)
    for name in KEY_FIELDS:
        assert saved[name] == endpoints[name]


def test_blank_key_after_a_wrong_key_keeps_the_wrong_one(env_path: Path, blob_url: str,
                                                         endpoints: dict[str, str]) -> None:
    form = CredentialsForm()
    fill_azure(form, endpoints, BATCH_ACCOUNT_KEY=WRONG_KEY)
    form.submit()
    form.submit()  # the password fields are empty now: the saved (wrong) key stays
    assert "rejected the key" in form.result.value
    assert read_env_file(env_path)["BATCH_ACCOUNT_KEY"] == WRONG_KEY


def test_entra_saves_no_keys(env_path: Path, endpoints: dict[str, str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    import azure.identity
    from azure.core.credentials import AccessToken

    class FakeCredential:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def get_token(self, *scopes, **kwargs) -> AccessToken:
            return AccessToken("fake", 4_102_444_800)

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", FakeCredential)
    form = CredentialsForm()
    form.target.value = "azure"
    form.auth.value = "entra"
    for name in TEXT_FIELDS:
        form.inputs[name].value = endpoints[name]
    form.submit()
    saved = read_env_file(env_path)
    assert saved["BATCH_AUTH"] == "entra"
    assert not any(name in saved for name in KEY_FIELDS)
    assert "✗" in form.result.value  # a token localbatch did not issue: refused
    assert "\n" not in form.result.value


def test_local_offers_entra_and_connects_with_localbatchs_tokens(env_path: Path) -> None:
    form = CredentialsForm()
    assert displayed(form.auth) and not displayed(form.azure_box)
    form.auth.value = "entra"
    settings = form.submit()
    assert "✓" in form.result.value, form.result.value
    assert settings is not None and (settings.target, settings.auth) == ("local", "entra")
    assert read_env_file(env_path) == {"BATCH_TARGET": "local", "BATCH_AUTH": "entra"}


def test_environ_fixture_restores_the_variables(environ) -> None:
    # The fixture's own check: a variable submit() would set is gone after the test that set it.
    assert "BATCH_ACCOUNT_KEY" not in os.environ
    assert os.environ.get("BATCH_TARGET") == "local"


@pytest.mark.parametrize("spelled", ["Azure", "AZURE", " azure "])
def test_form_reads_the_target_as_load_settings_does(env_path: Path, spelled: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """load_settings accepts BATCH_TARGET in any case and with spaces; so must the form."""
    monkeypatch.setenv("BATCH_TARGET", spelled)
    form = CredentialsForm()
    assert form.target.value == "azure"
    assert displayed(form.azure_box)


def test_an_unreadable_env_file_is_named_in_the_form_and_kept(env_path: Path) -> None:
    """A hand-edited .env with an open quote: the form says which line, and Connect does not
    overwrite the file (the other settings in it would be lost)."""
    broken = "BATCH_ACCOUNT_NAME=mybatch\nBATCH_ACCOUNT_KEY='c2VjcmV0\n"
    env_path.write_text(broken)
    form = CredentialsForm()
    assert f"Line 2 of {env_path} (BATCH_ACCOUNT_KEY) cannot be read" in form.result.value
    assert form.submit() is None
    assert "cannot be read" in form.result.value
    assert "c2VjcmV0" not in form.result.value
    assert env_path.read_text() == broken


def test_an_emptied_field_clears_its_saved_value(env_path: Path, blob_url: str,
                                                 endpoints: dict[str, str]) -> None:
    form = CredentialsForm()
    assert form.inputs["STORAGE_BLOB_URL"].value == blob_url  # prefilled from the file
    fill_azure(form, endpoints, STORAGE_BLOB_URL="")
    settings = form.submit()
    assert "STORAGE_BLOB_URL" not in read_env_file(env_path)
    assert "STORAGE_BLOB_URL" not in os.environ
    # The public cloud's URL is used now, and the Storage line names it (no key in it).
    assert settings is None
    assert "localstore.blob.core.windows.net" in form.result.value, form.result.value
    assert endpoints["STORAGE_ACCOUNT_KEY"] not in form.result.value


def test_the_form_saved_in_a_notebook_reads_as_a_sentence(env_path: Path) -> None:
    assert repr(CredentialsForm()).startswith("Credentials form:")
