"""The local CA and the certificate localbatch and Azurite serve HTTPS with, and the trust
bundle that adds that CA to what a shell trusted before.

Made with `cryptography` (already installed: azure-identity and the Storage SDK need it), so a
local CA costs no new package. The CA is made once per state folder; its key and the server's
key are owner-only files there and never leave it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .statedir import write_private

CA_DAYS = 10 * 365
SERVER_DAYS = 825          # the longest a server certificate may last for macOS and iOS
RENEW_BEFORE = timedelta(days=30)
PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----",
                       re.DOTALL)
BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")   # what requests and OpenSSL read


class TLSError(RuntimeError):
    """A certificate file or a trust bundle that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Files:
    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca-key.pem"

    @property
    def cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def key(self) -> Path:
        return self.folder / "server-key.pem"


def ensure(folder: Path) -> tuple[Files, bool]:
    """The CA and the server certificate, made if missing (or the server's renewed near its
    end); True when they are new, so servers still serving the old ones must restart."""
    files = Files(folder)
    folder.mkdir(mode=0o700, exist_ok=True)
    if not all(p.exists() for p in (files.ca, files.ca_key, files.cert, files.key)):
        ca_key, ca = _make_ca()
        write_private(files.ca_key, _key_pem(ca_key))
        write_private(files.ca, ca.public_bytes(serialization.Encoding.PEM))
        _issue(files, ca_key, ca)
        return files, True
    ca_key, ca = _load_key(files.ca_key), _load_cert(files.ca)
    server = _load_cert(files.cert)
    _load_key(files.key)
    if server.issuer != ca.subject or server.not_valid_after_utc - _now() < RENEW_BEFORE:
        _issue(files, ca_key, ca)
        return files, True
    return files, False


def server_options(files: Files) -> dict[str, str]:
    """uvicorn's TLS options for the Batch service."""
    return {"ssl_certfile": str(files.cert), "ssl_keyfile": str(files.key)}


def trust_bundle(files: Files, environ: dict[str, str]) -> Path:
    """A bundle of the local CA, the bundles `environ` names (a corporate CA, say), certifi's
    roots and the system's: real Azure endpoints still verify with it. Named by its content,
    so a shell that evaluates `localbatch env` twice gets the same file."""
    sources = [files.ca]
    for name in BUNDLE_VARIABLES:
        if environ.get(name):
            sources.append(_learners_bundle(name, environ[name]))
    sources += _public_roots()
    blocks: list[bytes] = []
    for source in sources:
        for block in PEM_BLOCK.findall(source.read_bytes()):
            if block not in blocks:
                blocks.append(block)
    text = b"\n".join(blocks) + b"\n"
    path = files.folder / f"trust-{hashlib.sha256(text).hexdigest()[:12]}.pem"
    if not path.exists():
        write_private(path, text)
    return path


def _learners_bundle(name: str, value: str) -> Path:
    path = Path(value)
    try:
        if not PEM_BLOCK.search(path.read_bytes()):
            raise TLSError(f"{name} is {value}, which holds no PEM certificate: fix it or unset "
                           f"{name}, then run `eval \"$(python -m localbatch env)\"` again.")
    except OSError as exc:
        raise TLSError(f"{name} is {value}, which cannot be read ({exc.strerror}): fix it or "
                       f"unset {name}, then run `eval \"$(python -m localbatch env)\"` "
                       "again.") from None
    return path


def _public_roots() -> list[Path]:
    """certifi's roots (what requests trusts by default) and the system store's file."""
    import certifi
    paths = ssl.get_default_verify_paths()
    found = [Path(certifi.where())]
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            found.append(Path(candidate))
    return found


def _make_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "localbatch"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "localbatch local CA")])
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _issue(files: Files, ca_key, ca: x509.Certificate) -> None:
    """A server certificate for 127.0.0.1 and localhost, signed by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=SERVER_DAYS))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    write_private(files.key, _key_pem(key))
    write_private(files.cert, cert.public_bytes(serialization.Encoding.PEM))


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise _unreadable(path, exc) from None


def _load_key(path: Path):
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: Exception) -> TLSError:
    reason = exc.strerror if isinstance(exc, OSError) else "not a PEM certificate or key"
    return TLSError(f"{path} cannot be read ({reason}): delete the folder {path.parent} and run "
                    "`python -m localbatch up` again, which makes a new local CA (then run "
                    "`eval \"$(python -m localbatch env)\"` again in your shells).")


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _now() -> datetime:
    return datetime.now(timezone.utc)
