"""Encryption and Encoding functions: hashes, Base64, hex, URL encoding,
symmetric encryption and JSON Web Tokens.

Marketing Cloud runs on .NET, so character sets are .NET's: a string becomes
bytes with ``Encoding.GetEncoding(name).GetBytes``, which never writes a byte
order mark, and ``UTF-16`` means little-endian.  The reference's examples
(SHA256 of "This is a string of text." in UTF-16, StringToHex of
"Hello world!") confirm both.

Keys named by external key come from the workspace key store
(`ampscript.keys`, ``keys.json``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ScriptError
from ..keys import KeyStore
from ..registry import ampscript_function
from ..rendering import current_context
from ..values import case, is_empty, params, to_text
from .content import contains_ampscript, render_content

if TYPE_CHECKING:  # cryptography itself is imported on first use: it costs start-up
    from cryptography.hazmat.primitives.ciphers import Cipher

__all__ = [
    "Base64Decode",
    "Base64Encode",
    "DecryptSymmetric",
    "EncryptSymmetric",
    "GetJWT",
    "GetJWTByKeyName",
    "MD5",
    "SHA1",
    "SHA256",
    "SHA512",
    "StringToHex",
    "URLEncode",
]

CATEGORY = "Encryption and Encoding"


# --- character sets -----------------------------------------------------------------------

# .NET encoding names (lowercase) -> Python codec.  .NET's GetBytes writes no
# byte order mark, so UTF-16/UTF-32 map to the explicit little-endian codecs.
# The same names work for every function that takes a character set: the
# hashes, StringToHex and Base64Encode/Decode accept UTF-8, UTF-16 (little
# endian), UTF-16BE, UTF-32 (little endian), ASCII and ISO-8859-1 alike
# (https://sfmc.guide/engagement/ampscript/functions/stringtohex/, "the same
# accepted domain the hash family proved";
# https://sfmc.guide/engagement/differs-from-docs/#base64encode-wider-encoding-domain);
# the other .NET names here are accepted everywhere too (choice).  The
# dashless "UTF8" is not a name: it aborts
# (https://sfmc.guide/engagement/ampscript/functions/md5/).
_CHARSETS = {
    "utf-8": "utf-8",
    "utf-16": "utf-16-le",
    "utf-16le": "utf-16-le",
    "unicode": "utf-16-le",
    "utf-16be": "utf-16-be",
    "unicodefffe": "utf-16-be",
    "utf-32": "utf-32-le",
    "utf-32le": "utf-32-le",
    "utf-32be": "utf-32-be",
    "ascii": "ascii",
    "us-ascii": "ascii",
    "iso-8859-1": "latin-1",
    "latin1": "latin-1",
    "windows-1252": "cp1252",
    "utf-7": "utf-7",
}
_CHARSET_NAMES = "UTF-8, UTF-16, UTF-16BE, UTF-32, ASCII, ISO-8859-1, Windows-1252, UTF-7"


def _codec(charset: Any, function: str, argument: str) -> str:
    """The Python codec for a .NET charset argument; UTF-8 when it is left out or null.

    An empty name aborts, as an unknown one does
    (https://sfmc.guide/engagement/ampscript/functions/md5/,
    https://sfmc.guide/engagement/ampscript/functions/base64encode/); a null
    (an unset variable, a null field) means the default (choice: kept from
    before, sfmc.guide is silent), so ``@null`` can stand for a left-out
    character set before a later argument.
    """
    if charset is None or charset is _OMITTED:
        return "utf-8"
    name = to_text(charset)
    if not name.strip():
        raise ScriptError(
            f"{function}(): the character set name (argument {argument!r}) is empty; "
            "leave the argument out for UTF-8"
        )
    codec = _CHARSETS.get(case.lower(name.strip()))
    if codec is None:
        raise ScriptError(
            f"{function}(): unknown character set {name!r} for argument {argument!r}; use one of {_CHARSET_NAMES}"
        )
    return codec


def _encode(text: str, codec: str, function: str) -> bytes:
    if codec == "utf-7":
        # .NET's Encoding.UTF7 encodes RFC 2152's "optional direct" characters
        # (! " # $ ...) in base64, Python writes them directly; rather than
        # produce bytes Marketing Cloud would not, refuse.
        raise ScriptError(f"{function}(): encoding text as UTF-7 is not supported by ampc (decoding is)")
    # Characters a single-byte charset cannot represent become '?', as in .NET
    # (ASCII: https://sfmc.guide/engagement/ampscript/functions/md5/).
    return text.encode(codec, errors="replace")


def _decode(data: bytes, codec: str) -> str:
    if codec == "ascii":
        # .NET's ASCIIEncoding turns every byte above 0x7F into '?'.
        return "".join(chr(byte) if byte < 0x80 else "?" for byte in data)
    return data.decode(codec, errors="replace")


# Marks an optional argument the script did not pass (null is a value).
_OMITTED: Any = object()


# --- hashes and hex -----------------------------------------------------------------------


def _hex_digest(algorithm: str, function: str, text: str, charset: Any) -> str:
    data = _encode(text, _codec(charset, function, "charSet"), function)
    return hashlib.new(algorithm, data).hexdigest()


@ampscript_function(CATEGORY)
def MD5(string_to_convert: params.Text, char_set: params.Value = _OMITTED) -> str:
    """The 128-bit MD5 hash of a string's bytes in a character set (UTF-8 by default), as lowercase hex.

    ASCII hashes '?' for every character it lacks; ``UTF8``, ``""`` and
    numbers are not character sets and abort
    (https://sfmc.guide/engagement/ampscript/functions/md5/).
    """
    return _hex_digest("md5", "MD5", string_to_convert, char_set)


@ampscript_function(CATEGORY)
def SHA1(string_to_convert: params.Text, char_set: params.Value = _OMITTED) -> str:
    """The 160-bit SHA-1 hash of a string's bytes (as for MD5), as lowercase hex."""
    return _hex_digest("sha1", "SHA1", string_to_convert, char_set)


@ampscript_function(CATEGORY)
def SHA256(string_to_convert: params.Text, char_set: params.Value = _OMITTED) -> str:
    """The 256-bit SHA-2 hash of a string's bytes (as for MD5), as lowercase hex.

    https://sfmc.guide/engagement/ampscript/functions/sha256/
    """
    return _hex_digest("sha256", "SHA256", string_to_convert, char_set)


@ampscript_function(CATEGORY)
def SHA512(string_to_convert: params.Text, char_set: params.Value = _OMITTED) -> str:
    """The 512-bit SHA-2 hash of a string's bytes (as for MD5), as lowercase hex."""
    return _hex_digest("sha512", "SHA512", string_to_convert, char_set)


@ampscript_function(CATEGORY, output_grows=True)
def StringToHex(source_string: params.Text, char_set: params.Value = _OMITTED) -> str:
    """The bytes of a string in a character set (UTF-8 by default), as lowercase hex.

    UTF-16 (little endian), UTF-16BE, UTF-32 (little endian, no byte order
    mark), ASCII and ISO-8859-1 work as for Base64Encode, '?' standing for
    what a single-byte set lacks
    (https://sfmc.guide/engagement/ampscript/functions/stringtohex/,
    https://sfmc.guide/engagement/differs-from-docs/#stringtohex-wider-charset-domain).
    The reference also accepts its own typo ``UTC-16`` for UTF-16.
    """
    if isinstance(char_set, str) and case.lower(char_set.strip()) == "utc-16":
        char_set = "UTF-16"
    codec = _codec(char_set, "StringToHex", "charSet")
    return _encode(source_string, codec, "StringToHex").hex()


# --- Base64 -------------------------------------------------------------------------------


@ampscript_function(CATEGORY, output_grows=True)
def Base64Encode(string_to_encode: params.Text, character_encoding: params.Value = _OMITTED) -> str:
    """A string's bytes in a .NET character set (UTF-8 by default), Base64-encoded.

    https://sfmc.guide/engagement/ampscript/functions/base64encode/ (an
    empty character set name aborts).
    """
    codec = _codec(character_encoding, "Base64Encode", "characterEncoding")
    return base64.b64encode(_encode(string_to_encode, codec, "Base64Encode")).decode("ascii")


@ampscript_function(CATEGORY)
def Base64Decode(
    string_to_decode: params.Text, character_encoding: params.Value = _OMITTED, abort_send_on_fail: params.Boolean = True
) -> str:
    """Base64 text decoded to a string in a .NET character set (UTF-8 by default).

    Text that is not Base64 is an error, or the empty string when
    ``abortSendOnFail`` is false (0).
    """
    codec = _codec(character_encoding, "Base64Decode", "characterEncoding")
    try:
        data = _strict_base64(string_to_decode)
    except ValueError:
        if abort_send_on_fail:
            raise ScriptError(
                f"Base64Decode(): {string_to_decode!r} is not valid Base64 text "
                "(pass 0 as abortSendOnFail to get an empty string instead)"
            ) from None
        return ""
    return _decode(data, codec)


def _strict_base64(text: str) -> bytes:
    """Decode like .NET's Convert.FromBase64String: whitespace is ignored, padding is required."""
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact, validate=True)
    except binascii.Error as error:
        raise ValueError(str(error)) from None


# --- URLEncode ----------------------------------------------------------------------------

# Characters .NET's HttpUtility.UrlEncode leaves alone besides letters and digits.
_URL_SAFE_PUNCTUATION = frozenset("-_.!*()")
URL_ENCODE_FILE = "<URLEncode>"


def _encode_url_text(text: str) -> str:
    """HttpUtility.UrlEncode: '+' for space, lowercase %xx of the UTF-8 bytes of anything unsafe.

    The reference's example ``URLEncode('http://example.com?p=examplé',1,0)``
    giving ``http://example.com?p%3dexampl%c3%a9`` shows its lowercase hex and
    its encoding of '='.
    """
    pieces = []
    for character in text:
        if character == " ":
            pieces.append("+")
        elif (character.isascii() and character.isalnum()) or character in _URL_SAFE_PUNCTUATION:
            pieces.append(character)
        else:
            pieces.append("".join(f"%{byte:02x}" for byte in character.encode("utf-8")))
    return "".join(pieces)


@ampscript_function(CATEGORY, output_grows=True)
def URLEncode(
    url_to_encode: params.Text,
    bool_encode_all_chars: params.Boolean = False,
    bool_encode_all_strings: params.Boolean = False,
) -> str:
    """Make a URL safe to use: by default only spaces after the '?' become ``%20``.

    ``boolEncodeAllChars`` on encodes every unsafe character (accented
    letters, '=', '&', ...) instead of only spaces; ``boolEncodeAllStrings``
    on encodes the whole string instead of only the part after the first '?'
    (https://sfmc.guide/engagement/ampscript/functions/urlencode/).  The
    switches are booleans as every boolean argument is: 1, true, "1" and
    "true" are on, and any other number (2) is off
    (https://sfmc.guide/engagement/differs-from-docs/#urlencode-flag-spellings-and-default-passthrough).

    AMPscript in the value is rendered first, so ``%%=ADD(1,2)=%%`` in a URL
    becomes ``3`` before encoding (issue 9 rule, observed in Marketing
    Cloud); it runs in the calling render, with its variables, as
    TreatAsContent() runs content, and counts as included content.
    """
    text = url_to_encode
    if contains_ampscript(text):  # plain text (the usual case) costs no include
        text = render_content(text, URL_ENCODE_FILE, "URLEncode")
    if bool_encode_all_strings:
        prefix, rest = "", text
    elif "?" in text:
        head, rest = text.split("?", 1)
        prefix = head + "?"
    else:
        return text
    encoded = _encode_url_text(rest) if bool_encode_all_chars else rest.replace(" ", "%20")
    return prefix + encoded


# --- symmetric encryption -----------------------------------------------------------------

# PBKDF2 (RFC 2898, HMAC-SHA1) iterations and derived key sizes when a salt is given.
_PBKDF2_ITERATIONS = 1000


@dataclass(frozen=True)
class _Algorithm:
    name: str
    block_size: int  # bytes
    derived_key_size: int  # bytes PBKDF2 produces from password + salt
    raw_key_sizes: tuple[int, ...]  # accepted lengths of a password used as the key itself

    def cipher(self, key: bytes):
        if self.name == "aes":
            from cryptography.hazmat.primitives.ciphers import algorithms  # on first use (start-up)

            return algorithms.AES(key)
        if len(key) == 8:  # single DES is Triple DES with three equal keys
            key = key * 3
        elif len(key) == 16:  # two-key Triple DES: K1 K2 K1
            key = key + key[:8]
        return _triple_des()(key)


def _triple_des() -> type:
    """cryptography's TripleDES, imported on first use: cryptography costs start-up."""
    try:  # cryptography >= 43 keeps (Triple)DES among the "decrepit" ciphers
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:  # pragma: no cover - older cryptography
        from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES
    return TripleDES


_ALGORITHMS = {
    "aes": _Algorithm("aes", 16, 32, (16, 24, 32)),
    "des": _Algorithm("des", 8, 8, (8,)),
    "tripledes": _Algorithm("tripledes", 8, 24, (16, 24)),
}
_MODES = ("cbc", "ecb", "ofb", "cfb", "cts")
_SUPPORTED_MODES = ("cbc", "ecb")
_PADDINGS = ("pkcs7", "none", "zeros", "ansix923", "iso10126")


@dataclass(frozen=True)
class _CipherSpec:
    algorithm: _Algorithm
    mode: str = "cbc"
    padding: str = "pkcs7"


def _parse_cipher_spec(text: str, function: str) -> _CipherSpec:
    """``aes``, ``des`` or ``tripledes``, optionally followed by ``;mode=ecb;padding=zeros`` (DES and Triple DES)."""
    name, *options = [part.strip() for part in text.split(";")]
    algorithm = _ALGORITHMS.get(case.lower(name))
    if algorithm is None:
        raise ScriptError(
            f"{function}(): unknown encryption algorithm {text!r} for argument 'encryptionAlgorithm'; "
            "use aes, des or tripledes"
        )
    settings = {"mode": "cbc", "padding": "pkcs7"}
    for option in filter(None, options):
        key, _, value = option.partition("=")
        key, value = case.lower(key.strip()), case.lower(value.strip())
        if key not in settings:
            raise ScriptError(f"{function}(): unknown encryption option {option!r}; use mode=... or padding=...")
        settings[key] = value
    if options and algorithm.name == "aes":
        raise ScriptError(f"{function}(): cipher mode and padding can be set only for des and tripledes, not aes")
    if settings["mode"] not in _MODES:
        raise ScriptError(f"{function}(): unknown cipher mode {settings['mode']!r}; use one of {', '.join(_MODES)}")
    if settings["mode"] not in _SUPPORTED_MODES:
        raise ScriptError(f"{function}(): the {settings['mode']} cipher mode is not supported by ampc (cbc and ecb are)")
    if settings["padding"] not in _PADDINGS:
        raise ScriptError(
            f"{function}(): unknown padding {settings['padding']!r}; use one of {', '.join(_PADDINGS)}"
        )
    return _CipherSpec(algorithm, settings["mode"], settings["padding"])


def _given(value: Any) -> str | None:
    """An argument's text, or None for the null/empty placeholder (``@null``)."""
    return None if is_empty(value) else to_text(value)


def _key_or_value(key_name: Any, value: Any, key_type: str, function: str) -> str | None:
    """A secret given by external key (looked up in the key store) or directly; the key wins."""
    name = _given(key_name)
    if name is not None:
        return KeyStore(current_context().workspace).get(name, key_type, function).value
    return _given(value)


def _hex_bytes(text: str, what: str, function: str) -> bytes:
    try:
        return bytes.fromhex(text.strip())
    except ValueError:
        raise ScriptError(f"{function}(): the {what} must be hexadecimal (two digits per byte), got {text!r}") from None


def _key_and_iv(spec: _CipherSpec, function: str, secrets: tuple[Any, ...]) -> tuple[bytes, bytes | None]:
    """The cipher key and IV from the (external key, value) pairs of password, salt and IV."""
    password_key, password_value, salt_key, salt_value, iv_key, iv_value = secrets
    password = _key_or_value(password_key, password_value, "symmetric", function)
    if password is None:
        raise ScriptError(f"{function}() needs a password: pass passwordExternalKey or password")
    password_bytes = password.encode("utf-8")
    salt = _key_or_value(salt_key, salt_value, "salt", function)
    iv_text = _key_or_value(iv_key, iv_value, "iv", function)
    algorithm = spec.algorithm
    if salt is not None:
        salt_bytes = _hex_bytes(salt, "salt", function)
        if len(salt_bytes) < 8:
            raise ScriptError(f"{function}(): the salt must be at least 8 bytes (16 hex digits), got {salt!r}")
        key = hashlib.pbkdf2_hmac("sha1", password_bytes, salt_bytes, _PBKDF2_ITERATIONS, algorithm.derived_key_size)
    else:
        # Without a salt there is nothing to derive from: the password is the key.
        if len(password_bytes) not in algorithm.raw_key_sizes:
            sizes = " or ".join(str(size) for size in algorithm.raw_key_sizes)
            raise ScriptError(
                f"{function}(): without a salt the password is the {algorithm.name} key itself and must be "
                f"{sizes} bytes long, got {len(password_bytes)}"
            )
        key = password_bytes
    if spec.mode == "ecb":
        return key, None
    if iv_text is not None:
        iv = _hex_bytes(iv_text, "initialization vector", function)
        what = "initialization vector"
    else:
        iv = password_bytes[: algorithm.block_size]  # documented: no IV -> the password is the IV
        what = "password (used as the initialization vector when none is given)"
    if len(iv) < algorithm.block_size:
        raise ScriptError(
            f"{function}(): the {what} must be {algorithm.block_size} bytes for {algorithm.name}, got {len(iv)}"
        )
    return key, iv[: algorithm.block_size]


def _pad(data: bytes, padding: str, block_size: int, function: str) -> bytes:
    missing = block_size - len(data) % block_size  # 1..block_size
    if padding == "pkcs7":
        return data + bytes([missing]) * missing
    if padding == "ansix923":
        return data + bytes(missing - 1) + bytes([missing])
    if padding == "iso10126":
        return data + os.urandom(missing - 1) + bytes([missing])
    if padding == "zeros":
        return data + bytes(missing % block_size)  # nothing when already a whole number of blocks
    if len(data) % block_size:
        raise ScriptError(
            f"{function}(): with padding=none the data must be a whole number of {block_size}-byte blocks"
        )
    return data


def _unpad(data: bytes, padding: str, block_size: int, function: str) -> bytes:
    if padding in ("none", "zeros"):  # .NET leaves zero padding in place
        return data
    count = data[-1] if data else 0
    filler = data[-count:-1] if count else b""
    valid = 1 <= count <= block_size and len(data) >= count
    if padding == "pkcs7":
        valid = valid and all(byte == count for byte in filler)
    elif padding == "ansix923":
        valid = valid and not any(filler)
    if not valid:
        raise ScriptError(f"{function}(): padding is invalid and cannot be removed (wrong password, salt or IV?)")
    return data[:-count]


def _cipher(spec: _CipherSpec, key: bytes, iv: bytes | None) -> Cipher:
    from cryptography.hazmat.primitives.ciphers import Cipher, modes  # on first use (start-up)

    mode = modes.ECB() if iv is None else modes.CBC(iv)
    return Cipher(spec.algorithm.cipher(key), mode)


@ampscript_function(CATEGORY, output_grows=True)
def EncryptSymmetric(
    data: params.Text,
    encryption_algorithm: params.Text,
    password_external_key: params.Value,
    password: params.Value,
    salt_external_key: params.Value,
    salt: params.Value,
    iv_external_key: params.Value,
    iv: params.Value,
) -> str:
    """Encrypt text (UTF-8) with AES, DES or Triple DES; the result is Base64.

    All eight arguments are required: seven or nine are a compile-time
    error, even in a branch that never runs
    (https://sfmc.guide/engagement/ampscript/functions/encryptsymmetric/).
    Pass each of password, salt and IV either by external key (Key
    Management, here the workspace's ``keys.json``) or as a value, with
    ``@null`` (or an empty string) in the other place.  Salt and IV are hexadecimal.  With a salt
    the key is PBKDF2-HMAC-SHA1 (RFC 2898, 1000 iterations) of the password,
    256 bits for AES; without one the password itself is the key.  Without an
    IV the password is the IV.  Default mode CBC, padding PKCS7.
    """
    spec = _parse_cipher_spec(encryption_algorithm, "EncryptSymmetric")
    key, vector = _key_and_iv(
        spec, "EncryptSymmetric", (password_external_key, password, salt_external_key, salt, iv_external_key, iv)
    )
    plain = _pad(data.encode("utf-8"), spec.padding, spec.algorithm.block_size, "EncryptSymmetric")
    encryptor = _cipher(spec, key, vector).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")


@ampscript_function(CATEGORY)
def DecryptSymmetric(
    encrypted_data: params.Text,
    encryption_algorithm: params.Text,
    password_external_key: params.Value,
    password: params.Value,
    salt_external_key: params.Value,
    salt: params.Value,
    iv_external_key: params.Value,
    iv: params.Value,
) -> str:
    """Decrypt EncryptSymmetric()'s Base64 output with the same algorithm, password, salt and IV.

    All eight arguments are required
    (https://sfmc.guide/engagement/ampscript/functions/decryptsymmetric/).
    """
    spec = _parse_cipher_spec(encryption_algorithm, "DecryptSymmetric")
    key, vector = _key_and_iv(
        spec, "DecryptSymmetric", (password_external_key, password, salt_external_key, salt, iv_external_key, iv)
    )
    try:
        encrypted = _strict_base64(encrypted_data)
    except ValueError:
        raise ScriptError(
            f"DecryptSymmetric(): the encrypted data must be Base64 text, got {encrypted_data!r}"
        ) from None
    if len(encrypted) % spec.algorithm.block_size:
        raise ScriptError(
            f"DecryptSymmetric(): the encrypted data is not a whole number of {spec.algorithm.block_size}-byte blocks"
        )
    decryptor = _cipher(spec, key, vector).decryptor()
    plain = decryptor.update(encrypted) + decryptor.finalize()
    plain = _unpad(plain, spec.padding, spec.algorithm.block_size, "DecryptSymmetric")
    return plain.decode("utf-8", errors="replace")


# --- JSON Web Tokens ----------------------------------------------------------------------

_HMAC_HASHES = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}
_RSA_HASHES = {"RS256": "SHA256", "RS384": "SHA384", "RS512": "SHA512"}  # cryptography's hashes


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt_algorithm(algorithm: str, accepted: dict, function: str) -> str:
    name = case.upper(algorithm.strip())
    if name not in accepted:
        raise ScriptError(
            f"{function}(): unknown JWT algorithm {algorithm!r} for argument 'algorithm'; "
            f"use one of {', '.join(accepted)}"
        )
    return name


def _signing_input(algorithm: str, payload: str) -> bytes:
    """``header.payload``: the payload is signed as given, not re-serialized or validated.

    https://sfmc.guide/engagement/differs-from-docs/#getjwt-payload-not-validated
    """
    header = json.dumps({"alg": algorithm, "typ": "JWT"}, separators=(",", ":")).encode("utf-8")
    return f"{_base64url(header)}.{_base64url(payload.encode('utf-8'))}".encode("ascii")


def _hmac_jwt(algorithm: str, secret: bytes, payload: str) -> str:
    signing_input = _signing_input(algorithm, payload)
    signature = hmac.new(secret, signing_input, _HMAC_HASHES[algorithm]).digest()
    return f"{signing_input.decode('ascii')}.{_base64url(signature)}"


def _rsa_jwt(algorithm: str, private_key_pem: str, payload: str, key_name: str) -> str:
    from cryptography.hazmat.primitives import hashes  # on first use: cryptography costs start-up
    from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(private_key_pem.encode("utf-8"), password=None)
    except (ValueError, TypeError):
        raise ScriptError(f"GetJWTByKeyName(): the key {key_name!r} is not an unencrypted PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise ScriptError(f"GetJWTByKeyName(): the key {key_name!r} is not an RSA private key")
    signing_input = _signing_input(algorithm, payload)
    signature = key.sign(signing_input, rsa_padding.PKCS1v15(), getattr(hashes, _RSA_HASHES[algorithm])())
    return f"{signing_input.decode('ascii')}.{_base64url(signature)}"


@ampscript_function(CATEGORY, output_grows=True)
def GetJWT(secret: params.Text, algorithm: params.Text, json_payload: params.Text) -> str:
    """A JSON Web Token for a payload, signed with a secret given in the script.

    Algorithms HS256, HS384 and HS512.  The secret is used as its UTF-8
    bytes; the header is ``{"alg":...,"typ":"JWT"}``.  The function catalog
    lists the arguments as (claimsSet, algorithm, secret); the reference's
    order, used here, is (secret, algorithm, jsonPayload).  The algorithm
    name ignores case, the header still spells it in capitals
    (https://sfmc.guide/engagement/differs-from-docs/#getjwt-case-insensitive-algorithm).
    """
    name = _jwt_algorithm(algorithm, _HMAC_HASHES, "GetJWT")
    if not secret:
        raise ScriptError("GetJWT() needs a secret to sign the token with (argument 'secret')")
    return _hmac_jwt(name, secret.encode("utf-8"), json_payload)


@ampscript_function(CATEGORY, output_grows=True)
def GetJWTByKeyName(key_name: params.Text, algorithm: params.Text, json_payload: params.Text) -> str:
    """A JSON Web Token signed with a key from Key Management (the workspace's ``keys.json``).

    HS256/HS384/HS512 use a ``symmetric`` key: the stored string's UTF-8
    bytes, as it is, not Base64-decoded, so the token equals GetJWT() with
    that string (https://sfmc.guide/engagement/ampscript/functions/getjwtbykeyname/);
    RS256/RS384/RS512 use an ``asymmetric`` key (an RSA private key in PEM).
    """
    name = _jwt_algorithm(algorithm, {**_HMAC_HASHES, **_RSA_HASHES}, "GetJWTByKeyName")
    if not key_name:
        raise ScriptError("GetJWTByKeyName() needs the external key of a key (argument 'keyName')")
    store = KeyStore(current_context().workspace)
    if name in _HMAC_HASHES:
        key = store.get(key_name, "symmetric", "GetJWTByKeyName")
        return _hmac_jwt(name, key.value.encode("utf-8"), json_payload)
    key = store.get(key_name, "asymmetric", "GetJWTByKeyName")
    return _rsa_jwt(name, key.value, json_payload, key.name)
