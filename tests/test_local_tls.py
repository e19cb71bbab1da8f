"""HTTPS on the local target: one local CA per state folder, a trust bundle that adds it to
what a shell trusted before, the upgrade of an http instance, and one sentence for each file
that cannot be used."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import certifi
import pytest
from azure.storage.blob import BlobServiceClient

from helpers.clients import check_connection
from helpers.settings import Settings
from localbatch import tls
from localbatch.control import LocalBatchError, down, trust_variables, up
from localbatch.statedir import StateDir
from tests.conftest import trusted


def blocks(path: str | Path) -> list[bytes]:
    return tls.PEM_BLOCK.findall(Path(path).read_bytes())


def localbatch(state: StateDir, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "localbatch", "--state-dir", str(state.path),
                           *args], capture_output=True, text=True, check=False,
                          env=env or {"PATH": "/usr/bin:/bin"})


def test_the_endpoints_are_https_and_the_keys_owner_only(state: StateDir) -> None:
    endpoints = state.endpoints()
    assert endpoints["BATCH_ACCOUNT_URL"].startswith("https://127.0.0.1:")
    assert endpoints["STORAGE_BLOB_URL"].startswith("https://127.0.0.1:")
    for name in ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem"):
        assert stat.S_IMODE((state.path / "tls" / name).stat().st_mode) == 0o600, name


def test_the_bundle_adds_the_ca_to_a_corporate_one_and_the_public_roots(
        state: StateDir, tmp_path: Path) -> None:
    corporate = tmp_path / "corporate.pem"
    corporate.write_bytes(blocks(certifi.where())[0] + b"\n")   # any certificate will do
    shell = {"PATH": "/usr/bin:/bin", "REQUESTS_CA_BUNDLE": str(corporate)}
    exports = json.loads(localbatch(state, "env", "--json", env=shell).stdout)
    bundle = blocks(exports["REQUESTS_CA_BUNDLE"])
    assert exports["SSL_CERT_FILE"] == exports["REQUESTS_CA_BUNDLE"]
    assert blocks(state.path / "tls" / "ca.pem")[0] in bundle
    assert blocks(corporate)[0] in bundle
    assert set(blocks(certifi.where())) <= set(bundle)   # real Azure endpoints still verify
    again = json.loads(localbatch(state, "env", "--json", env={**shell, **exports}).stdout)
    assert again["REQUESTS_CA_BUNDLE"] == exports["REQUESTS_CA_BUNDLE"]   # eval twice: one file


def test_env_says_what_to_unset_before_using_azure(state: StateDir) -> None:
    text = localbatch(state, "env").stdout
    assert "export IDENTITY_ENDPOINT=" in text and "export REQUESTS_CA_BUNDLE=" in text
    assert "# DefaultAzureCredential in this shell now signs in to localbatch; before you use " \
           "it with Azure, unset IDENTITY_ENDPOINT IDENTITY_HEADER" in text


def test_a_learners_bundle_that_cannot_be_read_is_named(state: StateDir, tmp_path: Path) -> None:
    shell = {"PATH": "/usr/bin:/bin", "REQUESTS_CA_BUNDLE": str(tmp_path / "gone.pem")}
    done = localbatch(state, "env", env=shell)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"error: REQUESTS_CA_BUNDLE is {tmp_path / 'gone.pem'}, which cannot be read (No such "
        "file or directory): fix it or unset REQUESTS_CA_BUNDLE, then run "
        "`eval \"$(python -m localbatch env)\"` again.")


def test_a_learners_bundle_without_the_local_ca_gets_one_sentence(
        state: StateDir, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = state.endpoints()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    settings = Settings("local", "localbatch", endpoints["BATCH_ACCOUNT_URL"], "localstore",
                        endpoints["STORAGE_BLOB_URL"], "key", endpoints["BATCH_ACCOUNT_KEY"],
                        endpoints["STORAGE_ACCOUNT_KEY"])
    problems = check_connection(settings)
    assert len(problems) == 2
    for problem, url in zip(problems, (settings.batch_url, settings.blob_url)):
        assert problem == (
            f"{url} has a certificate this computer does not trust: REQUESTS_CA_BUNDLE, "
            f"{certifi.where()}, lacks its CA. Run `eval \"$(python -m localbatch env)\"` again "
            "for the local target (it adds localbatch's CA to your bundle), or unset "
            "REQUESTS_CA_BUNDLE.")


def test_a_corrupt_ca_file_stops_up_with_the_fix(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    state.ensure()
    tls.ensure(state.path / "tls")
    (state.path / "tls" / "ca.pem").write_text("not a certificate\n")
    with pytest.raises(LocalBatchError) as caught:
        up(state)
    assert str(caught.value) == (
        f"{state.path / 'tls' / 'ca.pem'} cannot be read (not a PEM certificate or key): delete "
        f"the folder {state.path / 'tls'} and run `python -m localbatch up` again, which makes "
        "a new local CA (then run `eval \"$(python -m localbatch env)\"` again in your shells).")
    assert state.pid("service") is None and state.pid("azurite") is None


def test_a_missing_ca_file_makes_a_new_ca(tmp_path: Path) -> None:
    files, made = tls.ensure(tmp_path / "tls")
    old = files.ca.read_bytes()
    files.ca.unlink()
    files, made = tls.ensure(tmp_path / "tls")
    assert made and files.ca.read_bytes() != old
    assert tls.ensure(tmp_path / "tls")[1] is False   # and then keeps it


def test_azurite_that_cannot_start_with_tls_is_one_error(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "azurite-blob"
    fake.write_text("#!/bin/sh\necho 'Exit due to unhandled error: error:0480006C:PEM "
                    "routines::no start line'\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("AZURITE_BIN", str(fake))
    state = StateDir(tmp_path / "state")
    with pytest.raises(LocalBatchError) as caught:
        up(state)
    message = str(caught.value)
    assert message.startswith("azurite exited (port ")
    assert "PEM routines::no start line" in message
    assert message.endswith("Azurite could not start with HTTPS and OAuth (--cert, --key, --oauth "
                            "basic): run `make setup` for the pinned Azurite 3.37, or start "
                            "localbatch with `python -m localbatch up --http` (no Microsoft "
                            "Entra ID then).")


def test_an_http_instance_is_restarted_over_tls_and_keeps_its_blobs(tmp_path: Path) -> None:
    """A folder of an older localbatch (no scheme in ports.json) and its http instance still
    running: `up` restarts both over https; Azurite flushes its blobs on SIGTERM."""
    state = StateDir(tmp_path / "state")
    plain = up(state, "http")
    try:
        assert plain["BATCH_ACCOUNT_URL"].startswith("http://") and "IDENTITY_ENDPOINT" not in plain
        blobs = BlobServiceClient(plain["STORAGE_BLOB_URL"], credential={
            "account_name": plain["STORAGE_ACCOUNT_NAME"],
            "account_key": plain["STORAGE_ACCOUNT_KEY"]})
        blobs.create_container("kept").upload_blob("note.txt", b"still here")
        ports = state.ports()
        del ports["scheme"]
        state.save_ports(ports)   # as an older localbatch wrote it, with only the two keys
        keys = state.keys()
        (state.path / "keys.json").write_text(json.dumps(
            {name: keys[name] for name in ("batch_key", "storage_key")}))
        assert localbatch(state, "status").returncode == 0
        pids = state.pid("service"), state.pid("azurite")
        secure = up(state)
        assert (state.pid("service"), state.pid("azurite")) != pids
        assert secure["BATCH_ACCOUNT_URL"] == plain["BATCH_ACCOUNT_URL"].replace("http:", "https:")
        assert secure["BATCH_ACCOUNT_KEY"] == plain["BATCH_ACCOUNT_KEY"]   # the same account
        assert secure["IDENTITY_HEADER"]
        trusted(state)
        blobs = BlobServiceClient(secure["STORAGE_BLOB_URL"], credential={
            "account_name": secure["STORAGE_ACCOUNT_NAME"],
            "account_key": secure["STORAGE_ACCOUNT_KEY"]})
        assert blobs.get_blob_client("kept", "note.txt").download_blob().readall() == b"still here"
        assert up(state)["BATCH_ACCOUNT_URL"].startswith("https://")   # and stays so
        assert not trust_variables(StateDir(tmp_path / "never-started"), dict(os.environ))
    finally:
        down(state)


def test_up_http_reports_http_and_no_token_endpoint(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    try:
        done = localbatch(state, "up", "--http")
        assert done.returncode == 0, done.stderr
        assert "  Batch: http://127.0.0.1:" in done.stdout
        exports = json.loads(localbatch(state, "env", "--json").stdout)
        assert exports["BATCH_ACCOUNT_URL"].startswith("http://")
        assert "IDENTITY_ENDPOINT" not in exports and "REQUESTS_CA_BUNDLE" not in exports
        assert up(state)["BATCH_ACCOUNT_URL"].startswith("http://")   # the kit keeps the choice
    finally:
        down(state)


def test_a_server_certificate_near_its_end_is_renewed(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography import x509
    files, _ = tls.ensure(tmp_path / "tls")
    monkeypatch.setattr(tls, "SERVER_DAYS", 10)   # one made 10 days before its end
    tls._issue(files, tls._load_key(files.ca_key), tls._load_cert(files.ca))
    monkeypatch.undo()
    ca = files.ca.read_bytes()
    assert tls.ensure(tmp_path / "tls")[1] is True
    renewed = x509.load_pem_x509_certificate(files.cert.read_bytes())
    assert (renewed.not_valid_after_utc - renewed.not_valid_before_utc).days >= 800
    assert files.ca.read_bytes() == ca   # the same CA: the shells' bundles still trust it
