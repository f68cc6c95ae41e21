"""EncryptSymmetric / DecryptSymmetric and GetJWT* checked against independent computations.

The expected values here are computed with `cryptography` and PyJWT
directly, not with the runtime, so a mistake in the runtime's key
derivation, padding or token layout shows up as a mismatch.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import load_pem_private_key

import ampc
from ampscript import AMPscriptError, Context

try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

CORPUS = Path(__file__).parent / "corpus"
PASSWORD, SALT, IV = "fresh7", "e0cf1267f564b362", "4963b7334a46352623252955df21d7f3"


def render(source: str, workspace: Path = CORPUS) -> str:
    return ampc.render(source, context=Context(workspace=workspace, subscriber={}))


def amp_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def encrypt_call(data: str, algorithm: str, password: str, salt: str | None, iv: str | None) -> str:
    def arg(value: str | None) -> str:
        return "@null" if value is None else amp_string(value)

    return f"EncryptSymmetric({amp_string(data)}, {amp_string(algorithm)}, @null, {arg(password)}, @null, {arg(salt)}, @null, {arg(iv)})"


def pbkdf2(password: str, salt_hex: str, length: int) -> bytes:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA1(), length=length, salt=bytes.fromhex(salt_hex), iterations=1000)
    return kdf.derive(password.encode("utf-8"))


def encrypt_reference(cipher_algorithm, mode, data: bytes, block_bits: int) -> str:
    padder = padding.PKCS7(block_bits).padder()
    encryptor = Cipher(cipher_algorithm, mode).encryptor()
    padded = padder.update(data) + padder.finalize()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


@pytest.mark.parametrize("plain", ["Example", "", "Grüße, 東京", "x" * 33])
def test_aes_matches_pbkdf2_aes256_cbc_pkcs7(plain):
    key = pbkdf2(PASSWORD, SALT, 32)
    expected = encrypt_reference(algorithms.AES(key), modes.CBC(bytes.fromhex(IV)), plain.encode(), 128)
    assert render(f"%%={encrypt_call(plain, 'aes', PASSWORD, SALT, IV)}=%%") == expected


def test_triple_des_derives_a_24_byte_key():
    iv = "0102030405060708"
    key = pbkdf2(PASSWORD, SALT, 24)
    expected = encrypt_reference(TripleDES(key), modes.CBC(bytes.fromhex(iv)), b"secret", 64)
    assert render(f"%%={encrypt_call('secret', 'tripledes', PASSWORD, SALT, iv)}=%%") == expected


def test_des_without_salt_uses_the_password_as_key_and_iv():
    key = b"8ce32e59"
    expected = encrypt_reference(TripleDES(key * 3), modes.CBC(key), b"hello", 64)
    assert render(f"%%={encrypt_call('hello', 'des', '8ce32e59', None, None)}=%%") == expected


def test_des_ecb_vector_produced_by_marketing_cloud():
    # https://gist.github.com/camrobert/3e2ac76ac3db9b1c0f384b08530d6ccc (output of a real Marketing Cloud render)
    source = '%%=DecryptSymmetric("iJwqnvvKdIIn7AKQOg1LHA==", "des;mode=ecb;padding=pkcs7", @null, "8ce32e59", @null, @null, @null, @null)=%%'
    assert render(source) == "It's Working!!"


@pytest.mark.parametrize(
    "algorithm",
    [
        "aes",
        "des",
        "tripledes",
        "des;mode=ecb",
        "tripledes;mode=ecb;padding=zeros",
        "des;mode=cbc;padding=ansix923",
        "tripledes;padding=iso10126",
        "des;padding=pkcs7",
    ],
)
@pytest.mark.parametrize("plain", ["a", "exactly8", "sixteen bytes!!!", "Zoë & 東京"])
def test_round_trip(algorithm, plain):
    encrypted = render(f"%%={encrypt_call(plain, algorithm, PASSWORD, SALT, '0102030405060708090a0b0c0d0e0f10')}=%%")
    decrypted = render(
        f"%%=DecryptSymmetric({amp_string(encrypted)}, {amp_string(algorithm)}, @null, {amp_string(PASSWORD)}, "
        f"@null, {amp_string(SALT)}, @null, \"0102030405060708090a0b0c0d0e0f10\")=%%"
    )
    if "zeros" in algorithm:  # zero padding stays, as in .NET
        decrypted = decrypted.rstrip("\0")
    assert decrypted == plain


def test_external_keys_match_literal_values():
    literal = render(f"%%={encrypt_call('Example', 'aes', PASSWORD, SALT, IV)}=%%")
    by_key = render('%%=EncryptSymmetric("Example", "aes", "CorpusPassword", @null, "CorpusSalt", @null, "CorpusIV", @null)=%%')
    assert by_key == literal


def decode_segment(segment: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
def test_get_jwt_verifies_with_pyjwt(algorithm):
    payload = {"sub": "1234567890", "name": "Zoë", "iat": 1516239022}
    token = render(f"%%=GetJWT(\"a-secret-of-at-least-32-bytes-long\", \"{algorithm}\", {amp_string(json.dumps(payload))})=%%")
    assert jwt.decode(token, "a-secret-of-at-least-32-bytes-long", algorithms=[algorithm]) == payload
    assert decode_segment(token.split(".")[0]) == {"alg": algorithm, "typ": "JWT"}


def test_get_jwt_signs_the_payload_text_as_given():
    payload_text = '{ "b": 2,  "a": 1 }'  # spacing and order preserved, not re-serialized
    token = render(f"%%=GetJWT(\"k\", \"HS256\", {amp_string(payload_text)})=%%")
    segment = token.split(".")[1]
    assert base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode() == payload_text


def test_get_jwt_by_key_name_hmac_uses_the_stored_secret():
    token = render('%%=GetJWTByKeyName("CorpusJwtSecret", "HS512", \'{"sub":"42"}\')=%%')
    assert jwt.decode(token, "corpus-signing-secret", algorithms=["HS512"]) == {"sub": "42"}


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "RS512"])
def test_get_jwt_by_key_name_rsa_verifies_with_the_public_key(algorithm):
    private_key = load_pem_private_key((CORPUS / "keys" / "jwt-rsa.pem").read_bytes(), password=None)
    token = render(f"%%=GetJWTByKeyName(\"CorpusJwtRsa\", \"{algorithm}\", '{{\"sub\":\"42\"}}')=%%")
    assert jwt.decode(token, private_key.public_key(), algorithms=[algorithm]) == {"sub": "42"}


def test_key_store_reads_keys_from_the_workspace(tmp_path):
    (tmp_path / "keys.json").write_text(json.dumps({"Pw": {"type": "symmetric", "value": "8ce32e59"}}))
    by_key = render('%%=EncryptSymmetric("x", "des", "pw", @null, @null, @null, @null, @null)=%%', tmp_path)
    literal = render(f"%%={encrypt_call('x', 'des', '8ce32e59', None, None)}=%%", tmp_path)
    assert by_key == literal


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"type": "password", "value": "x"}, "expected"),
        ({"type": "symmetric"}, "exactly one of"),
        ({"type": "symmetric", "value": "x", "file": "y"}, "exactly one of"),
        ({"type": "symmetric", "value": 7}, "must be a string"),
        ({"type": "symmetric", "file": "../outside.txt"}, "outside the workspace"),
    ],
)
def test_key_store_rejects_malformed_entries(tmp_path, entry, message):
    (tmp_path / "keys.json").write_text(json.dumps({"K": entry}))
    with pytest.raises(AMPscriptError, match=message):
        render('%%=GetJWTByKeyName("K", "HS256", "{}")=%%', tmp_path)


def test_no_key_store_means_no_keys(tmp_path):
    with pytest.raises(AMPscriptError, match="no key with the external key 'K'"):
        render('%%=GetJWTByKeyName("K", "HS256", "{}")=%%', tmp_path)
