"""The identity vault's cryptography: a record opens only with its own data key and context, the
data key only with the KEK its key id names, rotation keeps old records readable, and without the
wrapped data key nothing opens the ciphertext."""

import base64
import os

import pytest

from services.recruitment.domain.vault import (DERIVED_KEY_ID, Identity, KeyRing, VaultKeyError, new_data_key,
                                               open_sealed, person_key, record_context, seal)

PERSON = Identity("Åse Ørsted", "Vestergade 1, 8000 Aarhus C", "0101011234", "ase@example.org")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_a_sealed_record_opens_with_its_data_key_and_context_only():
    key, ctx = new_data_key(), record_context(7)
    sealed = seal(key, PERSON, ctx)
    assert b"rsted" not in sealed and b"0101011234" not in sealed and b"example.org" not in sealed
    assert open_sealed(key, sealed, ctx) == PERSON
    assert seal(key, PERSON, ctx) != sealed  # a fresh nonce each time
    with pytest.raises(VaultKeyError):
        open_sealed(key, sealed, record_context(8))  # moved to another record
    with pytest.raises(VaultKeyError):
        open_sealed(new_data_key(), sealed, ctx)  # any other key: there is no other way in


def test_keys_are_wrapped_by_the_current_kek_and_rotation_keeps_old_ones_readable():
    old, new = os.urandom(32), os.urandom(32)
    ring_old = KeyRing.from_settings({"2026-01": b64(old)}, "", "s")
    key, ctx = new_data_key(), record_context(1)
    key_id, wrapped = ring_old.wrap(key, ctx)
    assert key_id == "2026-01" and key not in wrapped
    ring = KeyRing.from_settings({"2026-01": b64(old), "2026-12": b64(new)}, "2026-12", "s")
    assert ring.unwrap(key_id, wrapped, ctx) == key  # the old KEK still opens what it wrapped
    new_id, rewrapped = ring.wrap(ring.unwrap(key_id, wrapped, ctx), ctx)
    assert new_id == "2026-12"
    retired = KeyRing.from_settings({"2026-12": b64(new)}, "", "s")
    assert retired.unwrap(new_id, rewrapped, ctx) == key
    with pytest.raises(VaultKeyError, match="'2026-01'.*not configured"):
        retired.unwrap(key_id, wrapped, ctx)
    with pytest.raises(VaultKeyError):
        ring.unwrap(key_id, wrapped, record_context(2))  # a wrapped key moved to another record


def test_misconfigured_keys_are_refused_and_without_keys_one_is_derived_from_the_secret():
    with pytest.raises(ValueError, match="32 bytes"):
        KeyRing.from_settings({"a": b64(b"short")}, "a", "s")
    with pytest.raises(ValueError, match="not among"):
        KeyRing.from_settings({"a": b64(os.urandom(32))}, "b", "s")
    derived = KeyRing.from_settings({}, "", "secret one")
    assert derived.current == DERIVED_KEY_ID
    assert derived.keys != KeyRing.from_settings({}, "", "secret two").keys


def test_the_person_key_is_keyed_per_assembly_and_hides_the_register_id():
    a = person_key("s", "A", "0101011234")
    assert a == person_key("s", "A", " 0101011234 ") and len(a) == 64 and "0101011234" not in a
    assert a != person_key("s", "B", "0101011234") and a != person_key("t", "A", "0101011234")


def test_the_key_store_is_a_database_of_its_own_and_production_must_name_it(monkeypatch):
    from services.recruitment.keystore import KeyStoreNotConfigured, key_store_url
    from shared.settings import Settings

    for name in [n for n in os.environ if n.startswith("BORGERTING_")]:  # what earlier tests' stacks set
        monkeypatch.delenv(name)

    laptop = Settings(database_url="postgresql+asyncpg://u:pw@db:5432/borgerting", vault_database_url="")
    assert key_store_url(laptop) == "postgresql+asyncpg://u:pw@db:5432/recruitment_keys"
    assert key_store_url(laptop, "postgresql+asyncpg://m@x:1/y").endswith("@x:1/recruitment_keys")  # a migration's
    prod = dict(env="production", secret_key="x" * 40, auth_issuers={"https://i": "https://i/k"})
    with pytest.raises(KeyStoreNotConfigured, match="BORGERTING_VAULT_DATABASE_URL"):
        key_store_url(Settings(**prod, vault_database_url=""))
    keys = "postgresql+asyncpg://k:pw@keys:5432/recruitment_keys"
    assert key_store_url(Settings(**prod, vault_database_url=keys)) == keys


def test_a_record_sealed_with_the_old_free_text_contact_opens_as_e_mail_and_phone():
    from services.recruitment.domain.vault import seal_fields, sealed_fields

    key, ctx = new_data_key(), record_context(7)
    old = seal_fields(key, {"name": "Åse", "address": "Vej 1", "person_ref": "1", "contact": "ase@example.org · 12345678",
                            "needs": {"diet": "vegetar"}}, ctx)
    person = open_sealed(key, old, ctx)
    assert (person.email, person.phone, person.contact_note, person.needs) == ("ase@example.org", "12345678", None,
                                                                               {"diet": "vegetar"})
    assert person.contact == "ase@example.org · 12345678"
    again = seal(key, person, ctx)
    assert "contact" not in sealed_fields(key, again, ctx) and open_sealed(key, again, ctx) == person
