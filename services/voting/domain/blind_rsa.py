"""RSA blind signatures, RFC 9474 (RSABSSA), on top of ``cryptography`` key material.

Why our own code: no well-kept, installable Python package implements RFC 9474 (checked on PyPI
when this was written), and ``cryptography`` deliberately offers no raw RSA private operation,
which blind signing needs. So this module implements exactly the four RFC 9474 operations
(section 4) with Python integers, plus EMSA-PSS-ENCODE (RFC 8017 section 9.1.1) and MGF1
(RFC 8017 appendix B.2.1). Key generation, key (de)serialisation and the final RSASSA-PSS
verification are done by ``cryptography`` (OpenSSL), an independent implementation: every
signature we produce is re-checked by it.

The implementation is checked byte for byte against the four test vectors of RFC 9474
appendix A (``services/voting/tests/data/rfc9474_vectors.json``).

Roles (RFC 9474 section 4)::

    Client(pk, msg)                          Server(sk, pk)
    input_msg = prepare(msg)
    blinded_msg, inv = blind(pk, input_msg)
                         --- blinded_msg --->
                                             blind_sig = blind_sign(sk, blinded_msg)
                         <--- blind_sig -----
    sig = finalize(pk, input_msg, blind_sig, inv)
    verify(pk, input_msg, sig)   # anyone, later

Side channels: Python's ``pow`` is not constant time. ``blind_sign`` uses CRT and a fresh
server-side base blinding factor for every signature (so the value being exponentiated is
uniformly random and unknown to an attacker), and checks its result before returning it
(RFC 9474 section 4.3 step 4, which also stops fault attacks). Timing of the exponentiation
itself can still depend on the private exponent; run the issuer where an attacker cannot take
precise timings of many signatures (not on a shared host), as stated in docs/voting.md.
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "Variant",
    "RSABSSA_SHA384_PSS_RANDOMIZED",
    "RSABSSA_SHA384_PSSZERO_RANDOMIZED",
    "RSABSSA_SHA384_PSS_DETERMINISTIC",
    "RSABSSA_SHA384_PSSZERO_DETERMINISTIC",
    "VARIANTS",
    "DEFAULT_VARIANT",
    "BlindRSAError",
    "MessageTooLongError",
    "EncodingError",
    "InvalidInputError",
    "BlindSignError",
    "InvalidSignatureError",
    "PublicKey",
    "SecretKey",
    "prepare",
    "blind",
    "blind_sign",
    "finalize",
    "verify",
    "emsa_pss_encode",
    "mgf1",
]

RandomBytes = Callable[[int], bytes]

MIN_MODULUS_BITS = 2048  # RFC 9474 section 8: keys of at least 2048 bits
PREFIX_LEN = 32  # RFC 9474 section 4.1: PrepareRandomize adds 32 random bytes


# --------------------------------------------------------------------------------------------
# Variants (RFC 9474 section 5)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One RSABSSA variant: hash SHA-384, MGF1-SHA-384, a salt length, a preparation."""

    name: str
    salt_len: int  # sLen: 48 for PSS, 0 for PSSZERO
    randomized: bool  # PrepareRandomize (True) or PrepareIdentity (False)
    hash_name: str = "sha384"

    @property
    def h_len(self) -> int:
        return hashlib.new(self.hash_name).digest_size

    def _crypto_hash(self) -> hashes.HashAlgorithm:
        return {"sha384": hashes.SHA384(), "sha256": hashes.SHA256()}[self.hash_name]


RSABSSA_SHA384_PSS_RANDOMIZED = Variant("RSABSSA-SHA384-PSS-Randomized", 48, True)
RSABSSA_SHA384_PSSZERO_RANDOMIZED = Variant("RSABSSA-SHA384-PSSZERO-Randomized", 0, True)
RSABSSA_SHA384_PSS_DETERMINISTIC = Variant("RSABSSA-SHA384-PSS-Deterministic", 48, False)
RSABSSA_SHA384_PSSZERO_DETERMINISTIC = Variant("RSABSSA-SHA384-PSSZERO-Deterministic", 0, False)

VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        RSABSSA_SHA384_PSS_RANDOMIZED,
        RSABSSA_SHA384_PSSZERO_RANDOMIZED,
        RSABSSA_SHA384_PSS_DETERMINISTIC,
        RSABSSA_SHA384_PSSZERO_DETERMINISTIC,
    )
}

# RFC 9474 section 5 recommends the randomized PSS variant for general use.
DEFAULT_VARIANT = RSABSSA_SHA384_PSS_RANDOMIZED


# --------------------------------------------------------------------------------------------
# Errors (names follow RFC 9474 section 4)
# --------------------------------------------------------------------------------------------


class BlindRSAError(ValueError):
    """Base class of every error raised by this module."""


class MessageTooLongError(BlindRSAError):
    """EMSA-PSS-ENCODE: the message is longer than the hash function accepts."""


class EncodingError(BlindRSAError):
    """EMSA-PSS-ENCODE: the modulus is too small for the hash and salt."""


class InvalidInputError(BlindRSAError):
    """blind: the encoded message or the blind is not invertible modulo n."""


class BlindSignError(BlindRSAError):
    """blind_sign: the blinded message is out of range, or the signature failed its check."""


class InvalidSignatureError(BlindRSAError):
    """finalize/verify: the signature does not verify."""


# --------------------------------------------------------------------------------------------
# Integer/octet-string conversion (RFC 8017 section 4)
# --------------------------------------------------------------------------------------------


def _i2osp(x: int, length: int) -> bytes:
    if x < 0 or x >= 256**length:
        raise BlindRSAError("integer too large")
    return x.to_bytes(length, "big")


def _os2ip(b: bytes) -> int:
    return int.from_bytes(b, "big")


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicKey:
    """An RSA public key (n, e)."""

    n: int
    e: int

    @property
    def modulus_bits(self) -> int:
        return self.n.bit_length()

    @property
    def modulus_len(self) -> int:  # modulus_len in RFC 9474 (bytes)
        return (self.n.bit_length() + 7) // 8

    def to_cryptography(self) -> rsa.RSAPublicKey:
        # Cached: OpenSSL prepares a key object once (Montgomery form of n); verifying many votes
        # against one ballot key then costs the exponentiation only.
        return _crypto_public_key(self.n, self.e)

    @classmethod
    def from_cryptography(cls, key: rsa.RSAPublicKey) -> PublicKey:
        nums = key.public_numbers()
        return cls(n=nums.n, e=nums.e)

    def to_pem(self) -> str:
        """SubjectPublicKeyInfo PEM (rsaEncryption), the form published on the board."""
        return (
            self.to_cryptography()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def to_der(self) -> bytes:
        return self.to_cryptography().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_pem(cls, pem: str | bytes) -> PublicKey:
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError as exc:
            raise BlindRSAError(f"not a PEM public key: {exc}") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise BlindRSAError("not an RSA public key")
        return cls.from_cryptography(key)

    @property
    def key_id(self) -> str:
        """Hex SHA-256 of the SubjectPublicKeyInfo DER: a short, stable name for the key."""
        return hashlib.sha256(self.to_der()).hexdigest()


@functools.lru_cache(maxsize=64)
def _crypto_public_key(n: int, e: int) -> rsa.RSAPublicKey:
    return rsa.RSAPublicNumbers(e, n).public_key()


class SecretKey:
    """An RSA private key; wraps a ``cryptography`` key and keeps its CRT numbers."""

    def __init__(self, key: rsa.RSAPrivateKey):
        self._key = key
        nums = key.private_numbers()
        self._p, self._q = nums.p, nums.q
        self._d = nums.d
        self._dmp1, self._dmq1, self._iqmp = nums.dmp1, nums.dmq1, nums.iqmp
        self.public_key = PublicKey(n=nums.public_numbers.n, e=nums.public_numbers.e)

    @classmethod
    def generate(cls, bits: int = 2048) -> SecretKey:
        """A fresh key with e = 65537 (one per ballot; RFC 9474 section 8 asks >= 2048 bits)."""
        if bits < MIN_MODULUS_BITS:
            raise BlindRSAError(f"RSA keys for blind signatures must have >= {MIN_MODULUS_BITS} bits")
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=bits))

    @classmethod
    def from_numbers(cls, p: int, q: int, e: int, d: int | None = None) -> SecretKey:
        """Build a key from its primes (used with the RFC test vectors)."""
        n = p * q
        if d is None:
            d = pow(e, -1, math.lcm(p - 1, q - 1))
        nums = rsa.RSAPrivateNumbers(
            p=p,
            q=q,
            d=d,
            dmp1=rsa.rsa_crt_dmp1(d, p),
            dmq1=rsa.rsa_crt_dmq1(d, q),
            iqmp=rsa.rsa_crt_iqmp(p, q),
            public_numbers=rsa.RSAPublicNumbers(e, n),
        )
        return cls(nums.private_key())

    def to_pem(self, password: bytes | None = None) -> str:
        enc = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
        ).decode("ascii")

    @classmethod
    def from_pem(cls, pem: str | bytes, password: bytes | None = None) -> SecretKey:
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=password)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise BlindRSAError("not an RSA private key")
        return cls(key)

    def _rsasp1(self, m: int, rng: RandomBytes) -> int:
        """RSASP1 (RFC 8017 section 5.2.1) with CRT and base blinding; checked by RSAVP1."""
        n, e = self.public_key.n, self.public_key.e
        # Base blinding: exponentiate m * r^e instead of m, then divide by r.
        while True:
            r = _os2ip(rng(self.public_key.modulus_len)) % n
            if r > 1 and math.gcd(r, n) == 1:
                break
        mb = (m * pow(r, e, n)) % n
        s1 = pow(mb % self._p, self._dmp1, self._p)
        s2 = pow(mb % self._q, self._dmq1, self._q)
        h = (self._iqmp * (s1 - s2)) % self._p
        sb = s2 + h * self._q
        return (sb * pow(r, -1, n)) % n

    def __repr__(self) -> str:  # never print key material
        return f"SecretKey(bits={self.public_key.modulus_bits}, key_id={self.public_key.key_id[:16]}...)"


# --------------------------------------------------------------------------------------------
# MGF1 and EMSA-PSS-ENCODE (RFC 8017)
# --------------------------------------------------------------------------------------------


def mgf1(seed: bytes, mask_len: int, hash_name: str = "sha384") -> bytes:
    """MGF1, RFC 8017 appendix B.2.1."""
    h_len = hashlib.new(hash_name).digest_size
    if mask_len > (2**32) * h_len:
        raise EncodingError("mask too long")
    out = bytearray()
    for counter in range(math.ceil(mask_len / h_len)):
        out += hashlib.new(hash_name, seed + _i2osp(counter, 4)).digest()
    return bytes(out[:mask_len])


def emsa_pss_encode(msg: bytes, em_bits: int, salt: bytes, hash_name: str = "sha384") -> bytes:
    """EMSA-PSS-ENCODE, RFC 8017 section 9.1.1, with an explicit salt."""
    h_len = hashlib.new(hash_name).digest_size
    s_len = len(salt)
    em_len = math.ceil(em_bits / 8)
    # Step 1: the length limit of SHA-384 (2^125 - 1 bytes) cannot be reached by a bytes object.
    m_hash = hashlib.new(hash_name, msg).digest()  # step 2
    if em_len < h_len + s_len + 2:  # step 3
        raise EncodingError("encoding error: modulus too small for hash and salt")
    m_prime = b"\x00" * 8 + m_hash + salt  # steps 4-5
    h = hashlib.new(hash_name, m_prime).digest()  # step 6
    ps = b"\x00" * (em_len - s_len - h_len - 2)  # step 7
    db = ps + b"\x01" + salt  # step 8
    db_mask = mgf1(h, em_len - h_len - 1, hash_name)  # step 9
    masked_db = bytearray(a ^ b for a, b in zip(db, db_mask, strict=True))  # step 10
    # Step 11: clear the leftmost 8*emLen - emBits bits.
    masked_db[0] &= 0xFF >> (8 * em_len - em_bits)
    return bytes(masked_db) + h + b"\xbc"  # step 12


# --------------------------------------------------------------------------------------------
# The protocol (RFC 9474 section 4)
# --------------------------------------------------------------------------------------------


def prepare(msg: bytes, variant: Variant = DEFAULT_VARIANT, *, rng: RandomBytes = secrets.token_bytes) -> bytes:
    """Prepare (section 4.1): PrepareRandomize prefixes 32 random bytes; PrepareIdentity is a no-op."""
    if variant.randomized:
        return rng(PREFIX_LEN) + msg
    return msg


def blind(
    pk: PublicKey,
    input_msg: bytes,
    variant: Variant = DEFAULT_VARIANT,
    *,
    rng: RandomBytes = secrets.token_bytes,
    salt: bytes | None = None,
    r: int | None = None,
) -> tuple[bytes, bytes]:
    """Blind (section 4.2). Returns (blinded_msg, inv), each ``modulus_len`` bytes.

    ``salt`` and ``r`` exist only to reproduce the RFC test vectors; leave them unset.
    """
    if salt is None:
        salt = rng(variant.salt_len) if variant.salt_len else b""
    if len(salt) != variant.salt_len:
        raise BlindRSAError(f"salt must be {variant.salt_len} bytes for {variant.name}")
    n, k = pk.n, pk.modulus_len
    # Step 1. RFC 9474 writes bit_len(n); RSASSA-PSS (RFC 8017 section 8.1.1) encodes to
    # modBits - 1 bits, which is what RSASSA-PSS-VERIFY expects and what the vectors use.
    encoded_msg = emsa_pss_encode(input_msg, pk.modulus_bits - 1, salt, variant.hash_name)
    m = _os2ip(encoded_msg)  # step 3
    if math.gcd(m, n) != 1:  # step 4
        raise InvalidInputError("invalid input: encoded message not invertible modulo n")
    if r is None:  # step 5: r uniformly at random in [1, n)
        while True:
            r = _os2ip(rng(k + 16)) % n  # 128 extra bits make the modular bias negligible
            if r != 0 and math.gcd(r, n) == 1:
                break
    try:
        inv = pow(r, -1, n)  # step 6
    except ValueError:
        raise InvalidInputError("invalid input: blind not invertible modulo n") from None
    x = pow(r, pk.e, n)  # step 7: RSAVP1(pk, r)
    z = (m * x) % n  # step 8
    return _i2osp(z, k), _i2osp(inv, k)  # steps 9-10


def blind_sign(
    sk: SecretKey, blinded_msg: bytes, *, rng: RandomBytes = secrets.token_bytes
) -> bytes:
    """BlindSign (section 4.3). The server never learns the message."""
    pk = sk.public_key
    if len(blinded_msg) != pk.modulus_len:
        raise BlindSignError(f"blinded message must be {pk.modulus_len} bytes, got {len(blinded_msg)}")
    m = _os2ip(blinded_msg)  # step 1
    if m >= pk.n:
        raise BlindSignError("blinded message representative out of range")
    s = sk._rsasp1(m, rng)  # step 2
    if pow(s, pk.e, pk.n) != m:  # steps 3-4: RSAVP1 must give m back
        raise BlindSignError("signing failure: signature check failed")
    return _i2osp(s, pk.modulus_len)  # step 5


def finalize(
    pk: PublicKey,
    input_msg: bytes,
    blind_sig: bytes,
    inv: bytes,
    variant: Variant = DEFAULT_VARIANT,
) -> bytes:
    """Finalize (section 4.4): unblind and verify. Raises InvalidSignatureError."""
    k = pk.modulus_len
    if len(blind_sig) != k or len(inv) != k:
        raise InvalidSignatureError("unexpected input size")
    z = _os2ip(blind_sig)  # step 2
    r_inv = _os2ip(inv)  # step 3
    s = (z * r_inv) % pk.n  # step 4
    sig = _i2osp(s, k)  # step 5
    verify(pk, input_msg, sig, variant)  # step 6
    return sig


def verify(pk: PublicKey, input_msg: bytes, sig: bytes, variant: Variant = DEFAULT_VARIANT) -> None:
    """RSASSA-PSS-VERIFY (section 4.5), done by OpenSSL. Raises InvalidSignatureError."""
    if len(sig) != pk.modulus_len:
        raise InvalidSignatureError("invalid signature: wrong length")
    h = variant._crypto_hash()
    try:
        pk.to_cryptography().verify(
            sig, input_msg, padding.PSS(mgf=padding.MGF1(h), salt_length=variant.salt_len), h
        )
    except InvalidSignature:
        raise InvalidSignatureError("invalid signature") from None
