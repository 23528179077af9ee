"""Personal data: redaction, keyed hashes, logs."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botkit.keys import KeyProblem, resolve_hash_key
from botkit.privacy import Pseudonymizer, RedactingFilter, redact
from botkit.sealing import Sealer, SealError


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("gọi 0912 345 678 để nhận quà", "345"),
        ("ck vào stk 19031234567890 techcombank", "19031234567890"),
        ("vào link http://nhan-qua-vn.xyz/abc nhé", "nhan-qua"),
        ("xe biển 47B1-123.45 chạy mất", "123.45"),
        ("email me: lan.nguyen@gmail.com", "lan.nguyen"),
        ("+84 912.345.678", "912"),
    ],
)
def test_redact_masks_contact_details(text: str, secret: str) -> None:
    assert secret not in redact(text)


@given(st.text(max_size=2000))
def test_redact_never_grows_past_its_limit(text: str) -> None:
    assert len(redact(text, limit=100)) <= 100


def test_pseudonymizer_is_keyed_and_stable() -> None:
    a = Pseudonymizer(b"k" * 32)
    b = Pseudonymizer(b"j" * 32)
    assert a.hash("sender", "123") == a.hash("sender", "123")
    assert a.hash("sender", "123") != b.hash("sender", "123")
    assert a.hash("sender", "123") != a.hash("chat", "123")


def test_key_from_environment_else_a_local_file_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOTKIT_TEST_KEY", "from-environment-123456")
    assert resolve_hash_key("BOTKIT_TEST_KEY", tmp_path, None).secret == b"from-environment-123456"
    monkeypatch.delenv("BOTKIT_TEST_KEY")
    key = resolve_hash_key("BOTKIT_TEST_KEY", tmp_path, None)
    again = resolve_hash_key("BOTKIT_TEST_KEY", tmp_path, key.fingerprint)
    assert again.secret == key.secret and again.source == str(tmp_path / "hash.key")
    assert os.stat(tmp_path / "hash.key").st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["hash.key"]  # no temporary file left


def test_a_short_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOTKIT_TEST_KEY", "short")
    with pytest.raises(KeyProblem, match="shorter than 16 bytes"):
        resolve_hash_key("BOTKIT_TEST_KEY", tmp_path, None)


def test_sealed_payloads_open_only_with_the_same_key() -> None:
    sealed = Sealer(b"k" * 32).seal("tin nhắn của bà con".encode())
    assert "bà con".encode() not in sealed
    assert Sealer(b"k" * 32).open(sealed) == "tin nhắn của bà con".encode()
    with pytest.raises(SealError):
        Sealer(b"x" * 32).open(sealed)
    with pytest.raises(SealError):
        Sealer(b"k" * 32).open(sealed[:-1] + bytes([sealed[-1] ^ 1]))


def test_bot_tokens_and_tracebacks_are_redacted_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redaction.tokens")
    logger.addFilter(RedactingFilter())
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    with caplog.at_level(logging.INFO):
        logger.info("POST https://api.telegram.org/bot%s/getUpdates", token)
        try:
            raise ConnectionError(f"cannot reach /bot{token}/sendMessage for 0912345678")
        except ConnectionError:
            logger.exception("send failed")
    assert token not in caplog.text and "0912345678" not in caplog.text
    assert "ConnectionError" in caplog.text  # the traceback is kept, redacted


def test_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("message from %s: %s", "0912345678", "ck 19031234567890")
    assert "0912345678" not in caplog.text and "19031234567890" not in caplog.text


def test_times_and_hosts_stay_readable_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redaction.operational")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.warning(
            "send failed, retrying at %s; store %s; resident wrote %s; model %s",
            "2026-11-30T08:54:13+00:00",
            "redis://127.0.0.1:58925/0: Error 111 connecting to 127.0.0.1:58925",
            "goi 091.234.5678 hoac 10.20.30.40",
            "20261130-104645-75ca559a",
        )
    assert "retrying at 2026-11-30T08:54:13+00:00" in caplog.text
    assert "redis://127.0.0.1:58925/0" in caplog.text and "to 127.0.0.1:58925" in caplog.text
    assert "091.234.5678" not in caplog.text and "10.20.30.40" not in caplog.text
    assert "model 20261130-104645-75ca559a" in caplog.text
