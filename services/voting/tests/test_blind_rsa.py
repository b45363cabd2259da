"""RFC 9474 RSA blind signatures: the published test vectors, and the protocol's properties."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from services.voting.domain import blind_rsa as b

VECTORS = json.loads((Path(__file__).parent / "data" / "rfc9474_vectors.json").read_text())["vectors"]


def _fixed_bytes(data: bytes):
    return lambda n: data[:n]


@pytest.fixture(scope="module")
def vector_key() -> b.SecretKey:
    v = VECTORS[0]
    return b.SecretKey.from_numbers(int(v["p"], 16), int(v["q"], 16), int(v["e"], 16), int(v["d"], 16))


def test_all_four_variants_have_a_vector():
    assert sorted(v["name"] for v in VECTORS) == sorted(b.VARIANTS)


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_rfc9474_appendix_a_vector(v, vector_key):
    variant = b.VARIANTS[v["name"]]
    sk = vector_key
    pk = sk.public_key
    assert pk.n == int(v["n"], 16) and pk.e == int(v["e"], 16)

    # Prepare (4.1): with the vector's prefix the prepared message matches.
    prefix = bytes.fromhex(v["msg_prefix"])
    prepared = b.prepare(bytes.fromhex(v["msg"]), variant, rng=_fixed_bytes(prefix))
    assert prepared.hex() == v["prepared_msg"]

    # Blind (4.2): with the vector's salt and r = inv^-1 the blinded message matches.
    r = pow(int(v["inv"], 16), -1, pk.n)
    blinded, inv = b.blind(pk, prepared, variant, salt=bytes.fromhex(v["salt"]), r=r)
    assert blinded.hex() == v["blinded_msg"]
    assert inv.hex() == v["inv"]

    # BlindSign (4.3) is deterministic: it matches whatever server-side blinding is used.
    blind_sig = b.blind_sign(sk, blinded, rng=random.Random(7).randbytes)
    assert blind_sig.hex() == v["blind_sig"]

    # Finalize (4.4) and Verify (4.5).
    sig = b.finalize(pk, prepared, blind_sig, inv, variant)
    assert sig.hex() == v["sig"]
    b.verify(pk, prepared, bytes.fromhex(v["sig"]), variant)


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_signature_rejects_other_message(v, vector_key):
    variant = b.VARIANTS[v["name"]]
    other = bytes.fromhex(v["prepared_msg"])[:-1] + b"\x00"
    with pytest.raises(b.InvalidSignatureError):
        b.verify(vector_key.public_key, other, bytes.fromhex(v["sig"]), variant)


@pytest.mark.parametrize("variant", list(b.VARIANTS.values()), ids=list(b.VARIANTS))
def test_round_trip_with_fresh_key(variant, rsa_key):
    rng = random.Random(1).randbytes
    pk = rsa_key.public_key
    msg = b"token nonce"
    prepared = b.prepare(msg, variant, rng=rng)
    assert prepared.endswith(msg) and len(prepared) == len(msg) + (32 if variant.randomized else 0)
    blinded, inv = b.blind(pk, prepared, variant, rng=rng)
    # The server sees only the blinded message, which is not the encoded message.
    assert prepared not in blinded
    sig = b.finalize(pk, prepared, b.blind_sign(rsa_key, blinded, rng=rng), inv, variant)
    b.verify(pk, prepared, sig, variant)


def test_two_blindings_of_same_message_look_unrelated(rsa_key):
    pk = rsa_key.public_key
    bm1, _ = b.blind(pk, b"same", b.DEFAULT_VARIANT, rng=random.Random(1).randbytes)
    bm2, _ = b.blind(pk, b"same", b.DEFAULT_VARIANT, rng=random.Random(2).randbytes)
    assert bm1 != bm2


def test_finalize_with_wrong_inverse_fails(rsa_key):
    pk = rsa_key.public_key
    rng = random.Random(3).randbytes
    blinded, inv = b.blind(pk, b"m", b.DEFAULT_VARIANT, rng=rng)
    blind_sig = b.blind_sign(rsa_key, blinded, rng=rng)
    bad_inv = (int.from_bytes(inv, "big") + 1).to_bytes(len(inv), "big")
    with pytest.raises(b.InvalidSignatureError):
        b.finalize(pk, b"m", blind_sig, bad_inv, b.DEFAULT_VARIANT)


def test_signature_from_other_key_is_rejected(rsa_key, other_rsa_key):
    rng = random.Random(4).randbytes
    pk = rsa_key.public_key
    blinded, inv = b.blind(other_rsa_key.public_key, b"m", b.DEFAULT_VARIANT, rng=rng)
    sig = b.finalize(other_rsa_key.public_key, b"m", b.blind_sign(other_rsa_key, blinded, rng=rng), inv)
    with pytest.raises(b.InvalidSignatureError):
        b.verify(pk, b"m", sig)


def test_blind_sign_rejects_out_of_range_and_wrong_length(rsa_key):
    k = rsa_key.public_key.modulus_len
    with pytest.raises(b.BlindSignError, match="out of range"):
        b.blind_sign(rsa_key, b"\xff" * k)
    with pytest.raises(b.BlindSignError, match="bytes"):
        b.blind_sign(rsa_key, b"\x01" * (k - 1))


def test_keys_below_2048_bits_are_refused():
    with pytest.raises(b.BlindRSAError, match="2048"):
        b.SecretKey.generate(1024)


def test_public_key_pem_round_trip_and_key_id(rsa_key):
    pk = rsa_key.public_key
    again = b.PublicKey.from_pem(pk.to_pem())
    assert again == pk and again.key_id == pk.key_id and len(pk.key_id) == 64
    sk2 = b.SecretKey.from_pem(rsa_key.to_pem())
    assert sk2.public_key == pk
    assert "key_id" in repr(rsa_key) and str(rsa_key._d) not in repr(rsa_key)


def test_mgf1_and_pss_encode_shapes():
    assert len(b.mgf1(b"seed", 100)) == 100
    em = b.emsa_pss_encode(b"msg", 2047, b"\x00" * 48)
    assert len(em) == 256 and em[-1] == 0xBC and em[0] < 0x80
    with pytest.raises(b.EncodingError):
        b.emsa_pss_encode(b"msg", 700, b"\x00" * 48)
