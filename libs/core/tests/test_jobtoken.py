"""Job tokens: signed by the coordinator's key, verified by anyone with its public key."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from vapora_core.errors import ConfigError, Unauthenticated
from vapora_core.jobtoken import (
    JobClaims,
    JobSigner,
    JobVerifier,
    bearer_token,
    generate_key_pair,
    read_key,
)

PRIVATE, PUBLIC = generate_key_pair()


def claims(**overrides: object) -> JobClaims:
    base: dict[str, object] = {
        "agent_id": "code-reviewer",
        "role": "code-reviewer",
        "workspace_id": "ws-1",
        "task_id": "task-1",
        "job_id": "job-1",
        "project_id": "proj-1",
        "tools": ["files.read_text_file", "git.*"],
        "lifetime_s": 60,
    }
    base.update(overrides)
    return JobClaims.issue(**base)  # type: ignore[arg-type]


def test_a_signed_token_verifies_to_the_same_claims() -> None:
    issued = claims()
    token = JobSigner(PRIVATE).sign(issued)
    verified = JobVerifier(PUBLIC).verify(token)
    assert verified == issued
    assert verified.tools == ("files.read_text_file", "git.*")
    assert verified.expires_at - verified.issued_at == 60
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"


@pytest.mark.parametrize(
    "overrides",
    [{}, {"tools": [], "project_id": "", "role": ""}, {"agent_id": 'agent-é"\\', "task_id": "t/ü\u2028"}],
)
def test_a_token_is_the_jws_pyjwt_makes_of_the_same_claims(overrides: dict[str, object]) -> None:
    """The signer writes the compact form itself: byte for byte what ``jwt.encode`` makes with the
    same key (header, claims as compact JSON, escaped as PyJWT escapes them, deterministic Ed25519)."""
    issued = claims(**overrides)
    key = serialization.load_pem_private_key(PRIVATE.encode(), password=None)
    assert issued.payload_json() == json.dumps(issued.payload(), separators=(",", ":"))
    token = JobSigner(PRIVATE).sign(issued)
    assert token == jwt.encode(issued.payload(), key, algorithm="EdDSA")  # type: ignore[arg-type]
    assert JobVerifier(PUBLIC).verify(token) == issued


def test_an_expired_token_is_unauthenticated() -> None:
    token = JobSigner(PRIVATE).sign(claims(lifetime_s=10, now=time.time() - 100))
    with pytest.raises(Unauthenticated, match="has expired"):
        JobVerifier(PUBLIC, leeway_s=0).verify(token)


def test_a_verified_token_is_kept_and_still_expires() -> None:
    now = [time.time()]
    verifier = JobVerifier(PUBLIC, leeway_s=5, clock=lambda: now[0])
    token = JobSigner(PRIVATE).sign(claims(lifetime_s=60))
    first = verifier.verify(token)
    assert verifier.verify(token) is first  # the kept claims: the signature is not checked again
    now[0] += 60 + 4  # within the leeway
    assert verifier.verify(token) is first
    now[0] += 2
    with pytest.raises(Unauthenticated, match="has expired"):
        verifier.verify(token)
    with pytest.raises(Unauthenticated, match="has expired"):
        verifier.verify(token)  # still kept, still expired


def test_only_tokens_that_verified_are_kept_and_the_oldest_go_first() -> None:
    verifier = JobVerifier(PUBLIC, cache_size=2)
    forged = JobSigner(generate_key_pair()[0]).sign(claims())
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="signature does not verify"):
            verifier.verify(forged)
    tokens = [JobSigner(PRIVATE).sign(claims(job_id=f"job-{i}")) for i in range(3)]
    kept = [verifier.verify(t) for t in tokens]
    assert verifier.verify(tokens[2]) is kept[2]
    assert verifier.verify(tokens[1]) is kept[1]
    again = verifier.verify(tokens[0])  # pushed out by the third: verified afresh
    assert again == kept[0] and again is not kept[0]


def test_a_token_signed_by_another_key_is_refused() -> None:
    other_private, _ = generate_key_pair()
    token = JobSigner(other_private).sign(claims())
    with pytest.raises(Unauthenticated, match="signature does not verify"):
        JobVerifier(PUBLIC).verify(token)


def test_a_token_with_changed_claims_is_refused() -> None:
    token = JobSigner(PRIVATE).sign(claims())
    header, payload, signature = token.split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b"code-reviewer", b"developer\x20\x20\x20\x20")
    ).decode()
    with pytest.raises(Unauthenticated, match="signature does not verify"):
        JobVerifier(PUBLIC).verify(f"{header}.{forged_payload}.{signature}")


def test_an_hs256_token_with_the_public_key_as_secret_is_refused() -> None:
    # the classic algorithm-confusion forgery: only EdDSA is accepted
    token = jwt.encode(claims().payload(), "a-shared-secret-of-32-characters!", algorithm="HS256")
    with pytest.raises(Unauthenticated, match="not valid"):
        JobVerifier(PUBLIC).verify(token)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ws": None}, "no 'ws' claim"),
        ({"task": ""}, "'task' claim is empty"),
        ({"tools": "files.*"}, "'tools' claim must be a list of strings"),
        ({"role": 7}, "'role' claim must be a string"),
    ],
)
def test_a_token_missing_or_mistyping_a_claim_is_refused(change: dict[str, object], reason: str) -> None:
    payload = claims().payload()
    for key, value in change.items():
        if value is None:
            del payload[key]
        else:
            payload[key] = value
    token = jwt.encode(payload, serialization.load_pem_private_key(PRIVATE.encode(), None), algorithm="EdDSA")
    with pytest.raises(Unauthenticated, match=reason):
        JobVerifier(PUBLIC).verify(token)


@pytest.mark.parametrize(
    ("header", "reason"),
    [(None, "no job token"), ("", "no job token"), ("Basic abc", "must be 'Bearer"), ("Bearer ", "must be 'Bearer")],
)
def test_a_missing_or_malformed_authorization_value_is_unauthenticated(header: str | None, reason: str) -> None:
    with pytest.raises(Unauthenticated, match=reason):
        bearer_token(header)
    with pytest.raises(Unauthenticated, match="not valid"):
        JobVerifier(PUBLIC).verify_bearer("Bearer not.a.jwt")


def test_keys_come_from_pem_text_or_a_file_and_bad_ones_name_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "verify.pem"
    path.write_text(PUBLIC)
    assert read_key(f"@{path}", setting="VAPORA_JOB_VERIFY_KEY") == PUBLIC
    JobVerifier.from_setting(f"@{path}").verify(JobSigner.from_setting(PRIVATE).sign(claims()))
    with pytest.raises(ConfigError, match="VAPORA_JOB_VERIFY_KEY: is not set"):
        JobVerifier.from_setting("")
    with pytest.raises(ConfigError, match="VAPORA_JOB_SIGNING_KEY: cannot read"):
        JobSigner.from_setting(f"@{tmp_path / 'missing.pem'}")
    with pytest.raises(ConfigError, match="VAPORA_JOB_VERIFY_KEY: not a PEM public key"):
        JobVerifier.from_setting("garbage")
    with pytest.raises(ConfigError, match="VAPORA_JOB_SIGNING_KEY: not a PEM private key"):
        JobSigner.from_setting(PUBLIC)
